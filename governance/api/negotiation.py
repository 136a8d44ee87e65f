"""Content negotiation of the API: an unknown ``?format=`` is a 406, as an unknown Accept is.

DRF answers ``?format=xml`` with a 404 (as if the resource did not exist), which a client cannot
tell from a missing record. Here it is ``406 Not Acceptable``, a problem naming the formats the
resource has.
"""

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class AtlasContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            known = ", ".join(sorted({r.format for r in renderers if r.format != "api"}))
            raise NotAcceptable(f"Unknown format; this resource answers in: {known}.")
        return matching
