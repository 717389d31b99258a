#ifndef LABELCAST_CFREETYPE_SHIM_H
#define LABELCAST_CFREETYPE_SHIM_H
#include <ft2build.h>
#include FT_FREETYPE_H
#include <fontconfig/fontconfig.h>

// FreeType exposes these as function-like macros, which Swift cannot import.
static inline FT_Int32 labelcast_ft_load_target_light(void) { return FT_LOAD_TARGET_LIGHT; }
static inline int labelcast_ft_has_kerning(FT_Face face) { return FT_HAS_KERNING(face) ? 1 : 0; }
#endif
