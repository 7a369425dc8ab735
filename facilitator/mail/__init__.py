"""Mail between meetings: composing each kind (``compose``), handing it to the network's SMTP
server (``smtp``), and the run that writes what is due and sends it (``remind``)."""
