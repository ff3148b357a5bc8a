#!/bin/sh
# Print the [project] dependencies of pyproject.toml, one requirement a line (no Python needed:
# CUDA base images have none before the build installs it). The images install these in a layer
# of their own, so that a change to the code or to pyproject's tool settings rebuilds in seconds.
set -eu
awk '/^dependencies = \[/ { inside = 1; next } inside && /^\]/ { exit } inside' "${1:-pyproject.toml}" |
  sed -e 's/#.*//' -e 's/[",]//g' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d'
