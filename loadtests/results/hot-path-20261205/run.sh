#!/usr/bin/env bash
# The measurement of ../before-after-20261205/run.sh (before: main at d4e9d69, built in /work/wt), with the after server built
# from the commit to measure; only the results folder differs.
OUT=${OUT:-loadtests/results/hot-path-20261205} exec bash "$(dirname "$0")/../before-after-20261205/run.sh"
