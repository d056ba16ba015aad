"""What a clickstream database host needs from AWS at boot and at backup time.

The bootstrap is a shell script, but the calls it makes to SSM and S3 go through boto3 in the
host's venv (built from the bundle's wheels): the same client, retries and credential chain
(instance profile through IMDSv2, or ``AWS_ENDPOINT_URL`` and a profile for an emulator) as
the rest of the project, and no dependency on the AWS CLI's version in the image.
"""
