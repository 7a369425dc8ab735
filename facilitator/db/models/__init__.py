"""SQLAlchemy models, one module a concern. The schema itself comes only from Alembic migrations
in ``migrations/``. Every name is exported here, the package's public face: import from
``facilitator.db.models``."""

from facilitator.db.models.base import NAMING, Base, UTCDateTime
from facilitator.db.models.commitments import CalendarFeed, Commitment, CommitmentReview
from facilitator.db.models.meetings import (
    ITEM_KINDS,
    AgendaItem,
    Attendance,
    Meeting,
    MeetingEvent,
    OpenerAction,
    OpenerResponse,
)
from facilitator.db.models.network import (
    GROUP_KINDS,
    LANGUAGES,
    SECTORS,
    Blocker,
    Group,
    GroupMember,
    Network,
    Organization,
    Person,
    SharedValue,
    Strategy,
    StrategyGroup,
)
from facilitator.db.models.staff import (
    LINK_KINDS,
    STAFF_ROLES,
    AuditEntry,
    GroupStaff,
    JoinRequest,
    ParticipantToken,
    StaffLink,
    StaffSession,
    StaffUser,
)

__all__ = [
    "GROUP_KINDS",
    "ITEM_KINDS",
    "LANGUAGES",
    "LINK_KINDS",
    "NAMING",
    "SECTORS",
    "STAFF_ROLES",
    "AgendaItem",
    "Attendance",
    "AuditEntry",
    "Base",
    "Blocker",
    "CalendarFeed",
    "Commitment",
    "CommitmentReview",
    "Group",
    "GroupMember",
    "GroupStaff",
    "JoinRequest",
    "Meeting",
    "MeetingEvent",
    "Network",
    "OpenerAction",
    "OpenerResponse",
    "Organization",
    "ParticipantToken",
    "Person",
    "SharedValue",
    "StaffLink",
    "StaffSession",
    "StaffUser",
    "Strategy",
    "StrategyGroup",
    "UTCDateTime",
]
