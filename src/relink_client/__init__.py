"""A small typed client of Relink's importer API, for a platform's own importers (httpx).

    from relink_client import RelinkClient
    with RelinkClient("https://relink.example", token) as relink:
        for source in relink.wanted():
            credentials = relink.credentials(source.data_source_id)

Its models mirror the answers in Relink's ``/openapi.json`` (a test checks them against it).
"""

from relink_client.client import RelinkClient, RelinkRefused
from relink_client.models import Advice, Confirmed, Credentials, Wanted

__all__ = ["Advice", "Confirmed", "Credentials", "RelinkClient", "RelinkRefused", "Wanted"]
