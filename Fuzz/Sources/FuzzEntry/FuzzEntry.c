// Entry points for the fuzz executables.
//
// SwiftPM's debug builds on Linux link every executable with `--defsym main=<module>_main` (so
// tests can link the executable's code without its `main`). The fuzz targets have no Swift
// `main` (libFuzzer's is meant to be used), so that symbol would be undefined: each one is
// defined here and hands over to libFuzzer's driver, just as libFuzzer's own `main` does.
// In builds without the renaming (release), these are unused and libFuzzer's `main` is linked.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

static int run(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }

int fuzz_segment_schedule_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_control_body_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_watermark_detector_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_aigc_value_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_timed_id3_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_c2pa_report_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_hls_playlist_main(int argc, char **argv) { return run(argc, argv); }
int fuzz_media_boxes_main(int argc, char **argv) { return run(argc, argv); }
