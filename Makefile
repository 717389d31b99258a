# labelcast: set-up and checks. `make demo` and `make test` install the Debian packages they
# need when missing (apt-get; root or sudo), then build with SwiftPM.

SWIFT ?= swift
# FFmpeg 5.1 libraries and CLI (tests use ffmpeg/ffprobe as independent oracles), FreeType +
# fontconfig with a CJK font for the visible label, espeak-ng/sox for watermark test speech,
# librsvg (SVG/PNG badges) and libespeak-ng (the spoken audio label, in-process).
DEB_PACKAGES := ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
	pkg-config libfreetype-dev libfontconfig-dev fontconfig fonts-wqy-zenhei fonts-dejavu-core \
	espeak-ng sox nginx libnginx-mod-rtmp curl librsvg2-dev libespeak-ng-dev python3-jsonschema \
	chromium-headless-shell
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The C2PA reference implementation (c2pa-rs): its C library libc2pa_c.so, which labelcast
# loads at run time to sign (--c2pa-cert/--c2pa-key), and the Python Reader the tests
# validate with, both from the PyPI wheel c2pa-python, installed into the checkout.
C2PA_PYTHON := c2pa-python==0.38.1
C2PA_DIR := .deps/c2pa

.PHONY: deps c2pa-deps build release test browser-test demo bench asan tsan clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(MAKE) --no-print-directory c2pa-deps

c2pa-deps:
	@[ -f $(C2PA_DIR)/c2pa/libs/libc2pa_c.so ] || { echo "installing $(C2PA_PYTHON) into $(C2PA_DIR)"; \
		python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --target $(C2PA_DIR) $(C2PA_PYTHON); }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product labelcast

# The pure-DSP suites (AudioMark, VideoMark: CPU-bound, no ports or clocks) run in parallel.
# Then three processes side by side: the file-only end-to-end suites (no servers, no clocks:
# CPU-bound, about one core), straight through the test binary (SwiftPM would hold its build
# lock for a second `swift test`), and the live/timing suites (real servers on loopback,
# real-time streams, timing assertions: mostly waiting on the clock, ~0.4 core each) split in
# two serial processes, so the clock-bound minutes overlap each other and the CPU-bound ones.
# Each process takes its test ports from its own range (LABELCAST_TEST_PORTS, below the
# kernel's ephemeral range), so two never pick the same port. The logs are printed whole, in
# order, when all are done.
DSP_SUITES := '^(MarkCoreTests|AudioMarkTests|VideoMarkTests)\.'
FILE_SUITES := '^EndToEndTests\.(BrowserPlaybackTests|C2PAAutoTests|AudioGapBoundaryTests|AuditSegmentTests|PreservationTests|AutoWatermarkTests|PictureKeepTests|C2PATests|C2PASegmentedTests|VisibleLabelTests|ForeignOptionTests|CopyUnlabeledTests|ContainerDefaultsTests|SegmentedOutputTests|WatermarkEndToEndTests|VideoMarkEndToEndTests|LabelProfileTests|SpokenCueTests|ProvenanceTests|OutputGeometryTests|BadInputTests|AutoHoldTests|HEVCCopyTests|C2PASegmentOrderTests|SCTE35Tests|CaptionTrackTests|AudioCopyTests)/'
# The slowest live suites (~430 s of ~910 s), in the second live process, with the inspect
# suites (InspectTests, HLSInspectTests, ServeURLTests: ~240 s, file-bound; together, as their
# checks for left-over temporary files must not see each other's): the file process was the
# longest (12.3 min of a fresh-clone CI at e7e08a0, the live ones 7.1 and 8.1 min).
LIVE_A_SUITES := '^EndToEndTests\.(InspectTests|HLSInspectTests|ServeURLTests|LiveStartTests|LiveRTMPTests|LiveTransportTests|SwitchInstantTests|LiveStartWaitTests|HardeningTests)/'
XCTEST := .build/debug/labelcastPackageTests.xctest
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --parallel --filter $(DSP_SUITES)
	LABELCAST_TEST_PORTS=20000-23999 $(XCTEST) --testing-library swift-testing --no-parallel --filter $(FILE_SUITES) >.build/test-files.log 2>&1 & f=$$!; \
	  LABELCAST_TEST_PORTS=24000-27999 $(XCTEST) --testing-library swift-testing --no-parallel --filter $(LIVE_A_SUITES) >.build/test-live-a.log 2>&1 & a=$$!; \
	  LABELCAST_TEST_PORTS=28000-31999 $(SWIFT) test --skip-build --no-parallel --skip $(DSP_SUITES) --skip $(FILE_SUITES) --skip $(LIVE_A_SUITES); rl=$$?; \
	  wait $$a; ra=$$?; wait $$f; rf=$$?; cat .build/test-live-a.log .build/test-files.log; \
	  echo "file suites exit $$rf, live suites A exit $$ra, other live and timing suites exit $$rl"; [ $$rf -eq 0 ] && [ $$ra -eq 0 ] && [ $$rl -eq 0 ]

# Browser playback (BrowserPlaybackTests): Debian's headless Chromium plays --copy-unlabeled
# outputs (fragmented MP4, HLS-fMP4) through Media Source Extensions across the joins. In
# DEB_PACKAGES (26 packages, ~100 MB download, ~300 MB installed: Benchmarks/results/browser-playback.md),
# so `make test` runs it, in the file-suite process (~1.5 min beside the longer live process);
# `make browser-test` runs it alone.
BROWSER_PACKAGES := chromium-headless-shell
browser-test: deps
	@dpkg -s $(BROWSER_PACKAGES) >/dev/null 2>&1 || { echo "installing Debian packages: $(BROWSER_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES); }
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter '^EndToEndTests\.BrowserPlaybackTests/'

demo: release
	.build/release/labelcast demo

# labelcast vs the ffmpeg CLI, same job and encoder settings (Benchmarks/bench.sh; ~15 min on
# 2 cores; BENCH_LONG=1 adds a 10-minute memory run), then --copy-unlabeled against ffmpeg on a
# 10-minute 1080p file and a live-like run (Benchmarks/copy-unlabeled.sh, ~15 min), the HEVC copy
# against ffmpeg drawtext + libx265 (Benchmarks/hevc-copy-unlabeled.sh) and the segmented C2PA
# signing cost per segment (Benchmarks/c2pa-cost.sh). Also needs /usr/bin/time and jq.
bench: deps
	@for p in time jq; do dpkg -s $$p >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends time jq; break; }; done
	$(SWIFT) build -c release --product labelcast
	$(SWIFT) build -c release --product audiomark-bench
	Benchmarks/bench.sh
	Benchmarks/copy-unlabeled.sh
	Benchmarks/hevc-copy-unlabeled.sh --bin .build/release
	Benchmarks/copy-live-cpu.sh --bin .build/release
	Benchmarks/copy-live-streams.sh --bin .build/release
	ONLY=segmented REPS=2 Benchmarks/c2pa-cost.sh .build/release/labelcast > Benchmarks/results/c2pa-segmented-release.md

# The test suite under AddressSanitizer (with LeakSanitizer) or ThreadSanitizer, built in
# .build-asan / .build-tsan (the normal .build is left alone); the end-to-end tests then run
# the sanitized labelcast too. Fails on any report, a child's included. Not part of `make test`:
# a first build takes ~10 min, the runs ~6 (asan) and ~9 (tsan) min on 2 cores.
# Benchmarks/SANITIZERS.md has the options, suppressions and results.
asan: deps
	SWIFT=$(SWIFT) Benchmarks/sanitizers/run.sh asan

tsan: deps
	SWIFT=$(SWIFT) Benchmarks/sanitizers/run.sh tsan

clean:
	rm -rf .build labelcast-demo .deps
