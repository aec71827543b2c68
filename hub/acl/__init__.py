"""Broker security for the venue tree (Art. 9): the ACL model (rules), mosquitto's files (mosquitto),
the certificates (certificates) and `venue-hub acl` (hub/cli/acl.py). docs/acl.md explains all of it."""
