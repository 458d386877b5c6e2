#!/bin/sh
# Rebuilds the client binary next to this script.
cd "$(dirname "$0")" && go build -o client .
