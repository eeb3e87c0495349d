"""The registry's own toolkit, below every app: domain errors, identifiers, the REST API machinery, the
pages' helpers and file storage. Nothing here knows about tenants, items or the vocabulary."""
