"""The HTTP edge: pages, the JSON API, the WebSocket, and what guards them.

The ``id`` path convertor is registered here, before any module of the edge builds its routes.
"""

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[int]):
    """Path ids the database can hold (up to 18 digits); anything else is simply not found."""

    regex = "[1-9][0-9]{0,17}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
