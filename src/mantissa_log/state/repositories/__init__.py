"""One repository per table: the seed's access patterns as named operations on typed models."""
