"""Sorts the heap of two massif detailed snapshots (before the clients, with N idle clients) into owners, per
connection: each allocation stack goes to the first rule whose pattern it matches (demangled with swift-demangle).

    python3 attribute.py N SIDE [SIDE ...]     # reads SIDE.before and SIDE.connected
"""
import re, sys, subprocess, collections
def leaves_of(path):
    lines = open(path).read().split('\n')
    start = next(i for i,l in enumerate(lines) if l.startswith('heap_tree=detailed'))
    heap = int(next(l for l in lines if l.startswith('mem_heap_B=')).split('=')[1])
    extra = int(next(l for l in lines if l.startswith('mem_heap_extra_B=')).split('=')[1])
    rx = re.compile(r'^( *)n(\d+): (\d+) (.*)$')
    stack = []; leaves = []
    for l in lines[start+1:]:
        m = rx.match(l)
        if not m: continue
        ind = len(m.group(1)); nchild = int(m.group(2)); b = int(m.group(3)); rest = m.group(4)
        fm = re.match(r'0x[0-9A-F]+: (\S+)', rest)
        del stack[ind:]; stack.append(fm.group(1) if fm else rest)
        if nchild == 0: leaves.append((b, list(stack)))
    return leaves, heap, extra
RULES = [
    ('user record (registration, not per connection)', r'UserRegistry|UserStore|MemoryUserStore'),
    ('socket data (auth: user id, hash)', r'Socket\.subscript\.setter'),
    ('rooms (adapter: sid room, user room, "authenticated")', r'InMemoryAdapter|MemberList|Namespace\.track'),
    ('recovery pid', r'RandomIdentifier\.make\(\) <- SocketIOConnection\.connect\(to:auth:\)'),
    ('Socket.IO socket id', r'RandomIdentifier\.make'),
    ('handshake request kept (head, fields, strings)', r'HTTPConnectionStateMachine\.receivedHead|HTTPDecoder\.didReceive|EngineIOHandshake'),
    ('Socket object (+ handshake query)', r'SocketIOConnection\.connect\(to:'),
    ('timers (heartbeat, one entry each in the loop\'s timer heap)', r'LoopTimers'),
    ('Socket.IO connection (object, namespace table)', r'SocketIOConnectionStateMachine|conformance SocketIOServer|SocketIOConnection'),
    ('Engine.IO session (object, sid, session table, polling queue)', r'EngineIOSession|EngineIOServer'),
    ('our WebSocket handlers (memory gate, aggregator, writer, channel handler, their contexts, the connection)', r'WebSocketPipeline'),
    ('NIO WebSocket upgrade (frame decoder/encoder)', r'_upgrade<|WebSocketFrameEncoder\.handlerAdded'),
    ('HTTP connection registry, request timer', r'ConnectionRegistry|RequestTimer|HTTPServer\.bind'),
    ('NIO read buffer kept by the channel', r'closure #1 in BaseStreamSocketChannel\.readFromSocket'),
    ('NIO channel (socket, pipeline, pending writes, selector)', r'ServerSocketChannel\.readFromSocket|Selector\.register|makeBoxUnique|PendingWritesManager|BaseSocketChannel'),
]
def categorize(path):
    leaves, heap, extra = leaves_of(path)
    names = sorted({f for _, s in leaves for f in s if f.startswith('$s')})
    out = subprocess.run(['swift-demangle', '--simplified', '--compact'], input='\n'.join(names), capture_output=True, text=True).stdout.split('\n')
    dem = dict(zip(names, out))
    agg = collections.Counter(); count = collections.Counter()
    for b, s in leaves:
        text = ' <- '.join(dem.get(f, f) for f in s[1:])
        for name, rx in RULES:
            if re.search(rx, text): agg[name] += b; break
        else: agg['other (threads, runtime, below threshold)'] += b
    return agg, heap, extra
N = int(sys.argv[1]); sides = sys.argv[2:]
res = [(categorize(p + '.before'), categorize(p + '.connected')) for p in sides]
names = [n for n, _ in RULES] + ['other (threads, runtime, below threshold)']
import os
print('| owner, bytes per connection | ' + ' | '.join(os.path.basename(s) for s in sides) + ' |')
print('| --- |' + ' ---: |' * len(sides))
for n in names:
    print('| %s | ' % n + ' | '.join('%.0f' % ((c[0][n] - b[0][n]) / N) for b, c in res) + ' |')
print('| heap requested, total | ' + ' | '.join('%.0f' % ((c[1] - b[1]) / N) for b, c in res) + ' |')
print('| malloc overhead (headers, alignment) | ' + ' | '.join('%.0f' % ((c[2] - b[2]) / N) for b, c in res) + ' |')
