# labelcast: set-up and checks. `make demo` and `make test` install the Debian packages they
# need when missing (apt-get; root or sudo), then build with SwiftPM.

SWIFT ?= swift
# FFmpeg 5.1 libraries and CLI (tests use ffmpeg/ffprobe as independent oracles), FreeType +
# fontconfig with a CJK font for the visible label, espeak-ng/sox for watermark test speech.
DEB_PACKAGES := ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev \
	pkg-config libfreetype-dev libfontconfig-dev fontconfig fonts-wqy-zenhei fonts-dejavu-core \
	espeak-ng sox nginx libnginx-mod-rtmp curl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test demo clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product labelcast

test: deps
	$(SWIFT) test

demo: release
	.build/release/labelcast demo

clean:
	rm -rf .build labelcast-demo
