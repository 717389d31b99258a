// librsvg (SVG badges) and cairo (PNG badges, scaling both): Debian's librsvg2-dev.
#include <librsvg/rsvg.h>
#include <cairo.h>
