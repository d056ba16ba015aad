"""Code and data shipped inside every Lambda zip (ingest and etl): the lake format, the text rule,
the event schema, the logging and metrics styles, the boto3 clients.

Kept dependency-light on purpose: only the standard library and boto3 (which the Lambda
runtime provides), so importing it never drags a wheel into a function that does not need it.
"""
