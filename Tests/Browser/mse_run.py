#!/usr/bin/env python3
"""Plays a labelcast output in headless Chromium through Media Source Extensions.

usage: mse_run.py DIR SRC [--rate R] [--at T,T,...] [--timeout S]
       mse_run.py DIR --types MIME [--types MIME ...]

Serves DIR (and mse-player.html beside this script) on a loopback port, opens
mse-player.html?src=SRC in Debian's headless Chromium, waits for the page's POST
to /result and prints that JSON to stdout. Exit 3: no Chromium; 4: no result in time.
"""
import argparse, http.server, json, os, shutil, signal, subprocess, sys, tempfile, threading, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSERS = ["chromium-headless-shell", "chromium", "chromium-browser"]


def browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("src", nargs="?", default="")
    ap.add_argument("--types", action="append", default=[])
    ap.add_argument("--rate", default="1")
    ap.add_argument("--at", default="")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    exe = browser()
    if not exe:
        print("no Chromium: install Debian's chromium-headless-shell (make browser-test does)", file=sys.stderr)
        return 3
    result = {}
    got = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kw):
            super().__init__(*args, directory=a.dir, **kw)

        def translate_path(self, path):
            if urllib.parse.urlsplit(path).path == "/mse-player.html":
                return os.path.join(HERE, "mse-player.html")
            return super().translate_path(path)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(204)
            self.end_headers()
            if self.path == "/result" and not got.is_set():
                result["json"] = body
                got.set()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/mse-player.html?%s" % (server.server_address[1],
                                                      urllib.parse.urlencode([("types", t) for t in a.types] if a.types else [("src", a.src), ("rate", a.rate), ("at", a.at)]))
    profile = tempfile.mkdtemp(prefix="labelcast-chromium-")
    args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
            "--autoplay-policy=no-user-gesture-required", "--user-data-dir=" + profile,
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding", url]
    # Its own session, so that the whole process group — the browser and the renderer, GPU and
    # zygote processes it forks — is killed at the end (killing the browser alone left one
    # renderer per run behind, for good).
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    err = []
    threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True).start()
    ok = got.wait(a.timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    server.shutdown()
    shutil.rmtree(profile, ignore_errors=True)
    if not ok:
        tail = b"".join(err).decode(errors="replace").strip().splitlines()[-5:]
        print("Chromium (%s) reported nothing within %g s: %s" % (exe, a.timeout, " | ".join(tail)), file=sys.stderr)
        return 4
    out = json.loads(result["json"])
    out["browser"] = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
