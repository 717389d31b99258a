#ifndef LABELCAST_CFFMPEG_SHIM_H
#define LABELCAST_CFFMPEG_SHIM_H
// The C face of FFmpeg 5.1 for Swift: the headers MediaIO uses, plus small inline functions
// for the macros Swift cannot import (function-like macros, compound literals, errno-derived
// values). Nothing else lives here.
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavutil/avutil.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/log.h>
#include <libavutil/tx.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

/// Gives `f` a picture buffer from `pool` (buffers of av_image_get_buffer_size(fmt, w, h, 64)
/// bytes or more) with FFmpeg's usual 64-byte line alignment.
static inline int lc_frame_get_pooled(AVFrame *f, AVBufferPool *pool, enum AVPixelFormat fmt, int w, int h) {
    AVBufferRef *buf = av_buffer_pool_get(pool);
    if (!buf) return AVERROR(ENOMEM);
    f->format = fmt;
    f->width = w;
    f->height = h;
    f->buf[0] = buf;
    int r = av_image_fill_arrays(f->data, f->linesize, buf->data, fmt, w, h, 64);
    if (r < 0) { av_buffer_unref(&f->buf[0]); return r; }
    f->extended_data = f->data;
    return 0;
}

static inline int lc_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int lc_averror_eof(void) { return AVERROR_EOF; }
static inline int lc_averror_exit(void) { return AVERROR_EXIT; }
static inline int lc_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int lc_averror_einval(void) { return AVERROR(EINVAL); }
static inline int lc_averror_etimedout(void) { return AVERROR(ETIMEDOUT); }
static inline int lc_averror_eio(void) { return AVERROR(EIO); }
static inline int lc_averror_enospc(void) { return AVERROR(ENOSPC); }
static inline int lc_averror_epipe(void) { return AVERROR(EPIPE); }
static inline int lc_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int lc_averror_protocol_not_found(void) { return AVERROR_PROTOCOL_NOT_FOUND; }
static inline int lc_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
static inline int lc_averror_muxer_not_found(void) { return AVERROR_MUXER_NOT_FOUND; }
static inline int lc_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int lc_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }

static inline int64_t lc_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational lc_time_base_q(void) { return AV_TIME_BASE_Q; }

/// Fills `buf` (at least AV_ERROR_MAX_STRING_SIZE bytes) with FFmpeg's text for `err`.
static inline void lc_err2str(int err, char *buf, size_t size) {
    if (av_strerror(err, buf, size) < 0) { snprintf(buf, size, "error %d", err); }
}

/// av_log is variadic: Swift passes a finished message, never a format.
static inline void lc_av_log_message(void *avcl, int level, const char *message) {
    av_log(avcl, level, "%s", message);
}

static inline void lc_channel_layout_default(AVChannelLayout *layout, int channels) {
    av_channel_layout_default(layout, channels);
}

static inline int lc_channel_layout_is_stereo(const AVChannelLayout *layout) {
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    return av_channel_layout_compare(layout, &stereo) == 0;
}

/// Interrupt callback: FFmpeg polls it during blocking I/O; a non-zero return aborts the call.
typedef int (*lc_interrupt_fn)(void *opaque);
static inline void lc_set_interrupt(AVFormatContext *ctx, lc_interrupt_fn fn, void *opaque) {
    ctx->interrupt_callback.callback = fn;
    ctx->interrupt_callback.opaque = opaque;
}

// glibc: hands the free pages of every malloc arena back to the system. An encoder freed at
// the end of a re-encoded stretch (x264 at 720p: ~25 MB) otherwise stays in the arena of the
// thread that allocated it, and each stretch's encoder, made on whichever worker thread runs
// the encode queue then, grows the process by another.
static inline int lc_malloc_trim(void) { return malloc_trim(0); }

// glibc: a fixed mmap threshold. By default glibc raises the threshold to the size of every
// mmapped block freed (up to 32 MiB), so after the first encoder is closed the next one's
// picture buffers come from the heap arenas instead, where they fragment and are never
// returned: a live run that opens an encoder per re-encoded stretch then grows for as long as
// it runs. Setting the threshold turns that adjustment off: blocks of `bytes` and more are
// mapped and unmapped on their own. Returns 1 on success.
static inline int lc_malloc_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

#endif
