/* log.c — stderr logging. One lock keeps lines from worker threads whole; a message
 * identical to one of the last few printed within a second is counted instead of
 * printed, so a detection failing on every event cannot flood the terminal.
 * SPDX-License-Identifier: MIT
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "util.h"

static enum log_level min_level = LOG_INFO;
static int json_mode;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#define LOG_RECENT 8
static struct {
  uint64_t hash;
  double first;
  unsigned suppressed;
} recent[LOG_RECENT];

void log_set_level(enum log_level level) { min_level = level; }
void log_set_json(int on) { json_mode = on; }

const char *log_level_name(enum log_level level) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  return level <= LOG_ERROR ? names[level] : "?";
}

static void emit(enum log_level level, const char *msg) {
  if (json_mode) {
    char ts[40];
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
               clk_format(clk_now(), ts, sizeof ts), log_level_name(level));
    for (const char *s = msg; *s; s++) {
      if (*s == '"' || *s == '\\') buf_printf(&b, "\\%c", *s);
      else if ((unsigned char)*s < 0x20) buf_printf(&b, "\\u%04x", (unsigned char)*s);
      else buf_putc(&b, *s);
    }
    buf_puts(&b, "\"}\n");
    fputs(b.data, stderr);
    buf_free(&b);
  } else {
    fprintf(stderr, "lp0: %s: %s\n", log_level_name(level), msg);
  }
}

void log_msg(enum log_level level, const char *fmt, ...) {
  if (level < min_level) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint64_t h = hash_bytes(msg, strlen(msg));
  double now = clk_now();
  pthread_mutex_lock(&lock);
  int slot = (int)(h % LOG_RECENT);
  if (recent[slot].hash == h && now - recent[slot].first < 1.0) {
    recent[slot].suppressed++;
  } else {
    if (recent[slot].suppressed) {
      char note[64];
      snprintf(note, sizeof note, "(previous message repeated %u more times)",
               recent[slot].suppressed);
      emit(level, note);
    }
    recent[slot].hash = h, recent[slot].first = now, recent[slot].suppressed = 0;
    emit(level, msg);
  }
  pthread_mutex_unlock(&lock);
}
