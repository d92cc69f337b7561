"""Rule bodies, keyed by the seed's `s3_key`: a local directory, or S3."""
