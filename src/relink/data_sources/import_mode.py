"""Who imports a data source's days: its own ``imports`` setting, else its provider's entry.

An external data source is imported by the platform's own importers: Relink refreshes, probes,
hears signals, opens incidents, tells people and reconnects as for any other, but never calls
the data API for it; the importers confirm the days they imported (importers/confirmations.py).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_

from relink.models import DataSource
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import ImportMode


def import_mode(source: DataSource, catalog: Catalog) -> ImportMode:
    """The data source's mode: its own, else its provider's (Relink for one not in the catalog)."""
    if source.imports is not None:
        return source.imports
    spec = catalog.specs.get(source.provider)
    return spec.imports if spec is not None else ImportMode.RELINK


def imported_by_relink(catalog: Catalog) -> ColumnElement[bool]:
    """The SQL condition of ``import_mode(...) is RELINK``, for the queries that pick imports."""
    external = sorted(catalog.external_providers())
    by_provider: ColumnElement[bool] = DataSource.imports.is_(None)
    if external:
        by_provider = and_(by_provider, DataSource.provider.not_in(external))
    return or_(DataSource.imports == ImportMode.RELINK, by_provider)
