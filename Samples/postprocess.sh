#!/usr/bin/env bash
# labelcast as a post-step of a generation tool: label a rendered file, keep the report,
# and act on the exit status. Usage: postprocess.sh RENDER.mp4 [SEGMENTS]
set -u
in="$1"
segments="${2:-}"
out="${in%.*}.labeled.${in##*.}"
args=(run -i "$in" -o "$out" --quiet)
if [ -n "$segments" ]; then args+=(--segments "$segments"); else args+=(--synthetic all); fi
labelcast "${args[@]}"
status=$?
case $status in
  0) echo "labeled: $out" ;;
  130|143) echo "stopped by a signal; $out is finalized but shorter" >&2 ;;
  *) echo "labelcast failed (status $status); nothing was written to $out" >&2; exit $status ;;
esac
