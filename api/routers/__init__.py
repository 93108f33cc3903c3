"""One router per domain; each route is thin and calls query functions in ``storage``.

Each router carries its full prefix (``APIRouter(prefix="/v1", ...)``) so the route template,
which labels the metrics, is the path a client sees.
"""
