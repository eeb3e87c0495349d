"""What models and datasets share: the item, its metadata, tags, shares, lineage and versions."""
