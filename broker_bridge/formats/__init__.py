"""Event formats: the CloudEvents JSON format and the batch JSON format."""
