import socket, subprocess, sys, time, os, random
lc = sys.argv[1]; port = random.randint(30000, 60000)
subprocess.run(["ffmpeg","-nostdin","-loglevel","error","-y","-f","lavfi","-i","testsrc2=size=160x120:rate=25","-f","lavfi","-i","sine=f=440:r=48000","-t","400","-c:v","libx264","-preset","ultrafast","-c:a","aac","-shortest","in.mp4"], check=True)
p = subprocess.Popen([lc,"run","-i","in.mp4","-o","out.ts","--realtime","--listen",f"127.0.0.1:{port}","--no-watermark","--preset","ultrafast"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open("lc.log","w"))
def healthz(n):
    s = socket.create_connection(("127.0.0.1", port)); got = 0; buf = b""
    while got < n:
        b = min(500, n - got); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * b); goal = got + b
        while got < goal:
            d = s.recv(65536)
            if not d: return got
            buf += d; got += buf.count(b"HTTP/1.1 "); buf = buf[buf.rfind(b"HTTP/1.1 ")+9:] if b"HTTP/1.1 " in buf else buf[-8:]
    s.close(); return got
print("t", time.time()); 
for _ in range(100):
    try: socket.create_connection(("127.0.0.1", port)).close(); break
    except OSError: time.sleep(0.2)
def rss(): return [l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1]
def timed(n): t=time.time(); a=healthz(n); return time.time()-t, a
t00=time.time(); print("warm", timed(2000)); r0=rss(); print("before", timed(1000))
t=time.time()
for i in range(30): print(i, timed(2000), rss(), flush=True)
print("60k took", time.time()-t); print("after", timed(1000), "rss", r0, "->", rss())
p.terminate(); p.wait()
