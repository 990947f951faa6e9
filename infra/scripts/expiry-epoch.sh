#!/bin/sh
# Prints the Unix time EXPIRY_DAYS days from now. Pulumi runs it once, when the expiry is
# first set or its length changes, and keeps the result in state: evaluations stay stable.
set -eu
echo $(($(date -u +%s) + EXPIRY_DAYS * 86400))
