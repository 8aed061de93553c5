// The connect-rate ceiling of this machine (issue 5): a client and a server in plain C on epoll that do nothing but
// the exchanges of a Socket.IO connect over WebSocket, so their time is the kernel's (TCP handshake, four writes,
// reads, epoll) and the rate they reach together is what no server on this machine can beat.
//
//   connect_ceiling server ADMIN_PORT CLIENT_PORT
//       answers every admin request with 200 {"ok":true} (keep-alive, pipelined requests in order), and every
//       client with: 101 + `0{...}` in one write, `40` -> `40{"sid":...}`, `421[...]` -> `431[{"ok":true}]`.
//       The Sec-WebSocket-Accept value is fixed: neither this client nor the load tool checks it.
//   connect_ceiling client ADMIN_PORT CLIENT_PORT N IN_FLIGHT SOURCES [SERVER_PID]
//       registers users 1...N (`POST /user/register`, hash `h<uid>`, 64 pipelined per batch), then connects and
//       authenticates N clients over WebSocket with IN_FLIGHT handshakes in flight, from the source addresses
//       127.0.0.1 ... 127.0.0.SOURCES, and prints `CONNECTED n SECONDS s RATE r CLIENT_US c SERVER_US s`: the CPU
//       time (user + system) this client and the server (from /proc/SERVER_PID/stat; -1 without it) spent per
//       connect, over the connect phase only. Works against any server of the pushinator contract (pushinator, the
//       floor, this server). The connections stay open until it exits.
//
// Not a server to run: no pings, no sessions, no limits beyond its fixed buffers. Built by run.sh with `cc -O2`.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { MAX_FDS = 65536, BUFFER = 2048 };

/// Per file descriptor: what has arrived and not been consumed yet, and where the exchange is.
struct connection {
    int used;
    int state;  // server: 0 = HTTP request, 1 = WebSocket; client: 0 = connecting, 1 = open, 2 = connected, 3 = auth sent, 4 = done
    int is_admin;
    int user;
    char data[BUFFER];
};
static struct connection *connections;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void write_all(int fd, const char *bytes, size_t count) {
    while (count > 0) {
        ssize_t n = write(fd, bytes, count);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a full send buffer on loopback with one message in flight: not expected; the peer notices
        bytes += n;
        count -= (size_t)n;
    }
}

static struct sockaddr_in loopback(int port, int host) {
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(0x7f000000u + (uint32_t)host);
    return address;
}

static int listen_on(int port, int epoll) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = loopback(port, 1);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) || listen(fd, 4096)) die("listen");
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    return fd;
}

/// Length of the WebSocket frame at the start of `data` (header + payload), 0 if incomplete; sets the payload.
static int frame(const char *data, int used, const char **payload, int *length) {
    if (used < 2) return 0;
    const unsigned char *bytes = (const unsigned char *)data;
    int header = 2, count = bytes[1] & 0x7f;
    if (count == 126) {
        if (used < 4) return 0;
        count = bytes[2] << 8 | bytes[3];
        header = 4;
    } else if (count == 127) {
        return -1;  // nothing here sends 64-bit lengths
    }
    if (bytes[1] & 0x80) header += 4;  // masked (client to server): the clients here use the zero mask key
    if (used < header + count) return 0;
    *payload = data + header;
    *length = count;
    return header + count;
}

static void consume(struct connection *c, int count) {
    memmove(c->data, c->data + count, (size_t)(c->used - count));
    c->used -= count;
}

// MARK: server

static const char upgraded[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    "\x81\x6b" "0{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
    "\"maxPayload\":1000000}";
static const char namespace_connected[] = "\x81\x20" "40{\"sid\":\"BBBBBBBBBBBBBBBBBBBB\"}";
static const char auth_answer[] = "\x81\x10" "431[{\"ok\":true}]";
static const char admin_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

/// Answers every complete admin request in `c`.
static void serve_admin(int fd, struct connection *c) {
    for (;;) {
        char *end = memmem(c->data, (size_t)c->used, "\r\n\r\n", 4);
        if (!end) return;
        int head = (int)(end - c->data) + 4, body = 0;
        char *length = memmem(c->data, (size_t)head, "Content-Length:", 15);
        if (length) body = atoi(length + 15);
        if (c->used < head + body) return;
        write_all(fd, admin_answer, sizeof admin_answer - 1);
        consume(c, head + body);
    }
}

/// Answers the upgrade, then `40` and the `auth` event, in order.
static void serve_client(int fd, struct connection *c) {
    if (c->state == 0) {
        char *end = memmem(c->data, (size_t)c->used, "\r\n\r\n", 4);
        if (!end) return;
        consume(c, (int)(end - c->data) + 4);
        write_all(fd, upgraded, sizeof upgraded - 1);
        c->state = 1;
    }
    const char *payload;
    int length, size;
    while ((size = frame(c->data, c->used, &payload, &length)) > 0) {
        if (length >= 2 && payload[0] == '4' && payload[1] == '0') {
            write_all(fd, namespace_connected, sizeof namespace_connected - 1);
        } else if (length >= 3 && payload[0] == '4' && payload[1] == '2' && payload[2] == '1') {
            write_all(fd, auth_answer, sizeof auth_answer - 1);
        }
        consume(c, size);
    }
}

__attribute__((noreturn)) static void run_server(int admin_port, int client_port) {
    int epoll = epoll_create1(0), one = 1;
    int admin = listen_on(admin_port, epoll), client = listen_on(client_port, epoll);
    printf("LISTENING admin=%d client=%d\n", admin_port, client_port);
    fflush(stdout);
    struct epoll_event events[256];
    for (;;) {
        int count = epoll_wait(epoll, events, 256, -1);
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            if (fd == admin || fd == client) {
                int accepted;
                while ((accepted = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (accepted >= MAX_FDS) { close(accepted); continue; }
                    setsockopt(accepted, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    connections[accepted] = (struct connection){.is_admin = fd == admin};
                    struct epoll_event event = {.events = EPOLLIN, .data.fd = accepted};
                    epoll_ctl(epoll, EPOLL_CTL_ADD, accepted, &event);
                }
                continue;
            }
            struct connection *c = &connections[fd];
            ssize_t n = read(fd, c->data + c->used, (size_t)(BUFFER - c->used));
            if (n <= 0) {
                close(fd);
                continue;
            }
            c->used += (int)n;
            if (c->is_admin) serve_admin(fd, c); else serve_client(fd, c);
            if (c->used == BUFFER) close(fd);  // a request larger than the buffer: not one of ours
        }
    }
}

// MARK: client

static int blocking_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = loopback(port, 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address)) die("connect to the admin port");
    return fd;
}

/// Registers users 1...n over one keep-alive connection, 64 requests per pipelined batch.
static void register_users(int admin_port, int n) {
    int fd = blocking_connect(admin_port);
    char request[512], answer[65536];
    for (int first = 1; first <= n; first += 64) {
        int last = first + 63 < n ? first + 63 : n;
        for (int user = first; user <= last; user++) {
            char body[96];
            int body_length = snprintf(body, sizeof body, "{\"userId\":%d,\"hash\":\"h%d\"}", user, user);
            int length = snprintf(request, sizeof request,
                                  "POST /user/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %d\r\n\r\n%s", body_length, body);
            write_all(fd, request, (size_t)length);
        }
        // Answers: count complete responses (head + Content-Length body) until the batch is answered.
        int used = 0, answered = 0, offset = 0;
        while (answered < last - first + 1) {
            ssize_t got = read(fd, answer + used, sizeof answer - (size_t)used);
            if (got <= 0) die("admin answers");
            used += (int)got;
            for (;;) {
                char *end = memmem(answer + offset, (size_t)(used - offset), "\r\n\r\n", 4);
                if (!end) break;
                int head = (int)(end - (answer + offset)) + 4, body = 0;
                char *length = memmem(answer + offset, (size_t)head, "Content-Length:", 15);
                if (!length) length = memmem(answer + offset, (size_t)head, "content-length:", 15);
                if (length) body = atoi(length + 15);
                if (used - offset < head + body) break;
                if (strncmp(answer + offset, "HTTP/1.1 200", 12) != 0) {
                    fprintf(stderr, "register refused: %.80s\n", answer + offset);
                    exit(1);
                }
                offset += head + body;
                answered++;
            }
        }
    }
    close(fd);
}

/// A masked client text frame with the zero mask key (valid per RFC 6455: the payload goes out as is).
static void send_text(int fd, const char *text, int length) {
    char out[160] = {(char)0x81, (char)(0x80 | length), 0, 0, 0, 0};
    memcpy(out + 6, text, (size_t)length);
    write_all(fd, out, (size_t)length + 6);
}

static const char upgrade_request[] =
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static int start_client(int epoll, int port, int user, int sources) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0) die("socket");
    if (fd >= MAX_FDS) { fprintf(stderr, "too many descriptors\n"); exit(1); }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in source = loopback(0, 1 + user % sources), target = loopback(port, 1);
    if (bind(fd, (struct sockaddr *)&source, sizeof source)) die("bind");
    if (connect(fd, (struct sockaddr *)&target, sizeof target) && errno != EINPROGRESS) die("connect");
    connections[fd] = (struct connection){.user = user};
    struct epoll_event event = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    return fd;
}

/// Advances one client with what it has read; returns 1 once it is authenticated.
static int advance(int fd, struct connection *c) {
    if (c->state == 1) {
        char *end = memmem(c->data, (size_t)c->used, "\r\n\r\n", 4);
        if (!end) return 0;
        if (strncmp(c->data, "HTTP/1.1 101", 12) != 0) {
            fprintf(stderr, "upgrade refused: %.80s\n", c->data);
            exit(1);
        }
        consume(c, (int)(end - c->data) + 4);
        c->state = 2;
    }
    const char *payload;
    int length, size;
    while ((size = frame(c->data, c->used, &payload, &length)) > 0) {
        if (length >= 1 && payload[0] == '0') {
            send_text(fd, "40", 2);  // Engine.IO open: connect to the main namespace
        } else if (length >= 2 && payload[0] == '4' && payload[1] == '0') {
            char auth[96];
            int auth_length = snprintf(auth, sizeof auth, "421[\"auth\",%d,\"h%d\"]", c->user, c->user);
            send_text(fd, auth, auth_length);
            c->state = 3;
        } else if (length >= 3 && payload[0] == '4' && payload[1] == '3' && payload[2] == '1') {
            if (!memmem(payload, (size_t)length, "true", 4)) {
                fprintf(stderr, "auth refused: %.*s\n", length, payload);
                exit(1);
            }
            consume(c, size);
            c->state = 4;
            return 1;
        } else if (length >= 2 && payload[0] == '4' && payload[1] == '4') {
            fprintf(stderr, "connect refused: %.*s\n", length, payload);
            exit(1);
        }
        consume(c, size);
    }
    if (size < 0) { fprintf(stderr, "unexpected frame\n"); exit(1); }
    return 0;
}

/// CPU seconds (user + system) of this process.
static double own_cpu(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/// CPU seconds (utime + stime) of process `pid` from /proc, -1 if unknown.
static double process_cpu(int pid) {
    if (pid <= 0) return -1;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *file = fopen(path, "r");
    if (!file) return -1;
    size_t length = fread(line, 1, sizeof line - 1, file);
    fclose(file);
    line[length] = 0;
    char *field = strrchr(line, ')');  // the command name may hold spaces; fields 3... follow its closing parenthesis
    unsigned long utime = 0, stime = 0;
    if (!field || sscanf(field + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int run_client(int admin_port, int client_port, int n, int in_flight, int sources, int server_pid) {
    register_users(admin_port, n);
    int epoll = epoll_create1(0), started = 0, done = 0;
    struct epoll_event events[256];
    double start = now(), client_start = own_cpu(), server_start = process_cpu(server_pid);
    while (started < n && started < in_flight) start_client(epoll, client_port, ++started, sources);
    while (done < n) {
        int count = epoll_wait(epoll, events, 256, 10000);
        if (count == 0) {
            fprintf(stderr, "no progress for 10 s: %d of %d authenticated\n", done, n);
            return 2;
        }
        for (int i = 0; i < count; i++) {
            int fd = events[i].data.fd;
            struct connection *c = &connections[fd];
            if (c->state == 0) {
                write_all(fd, upgrade_request, sizeof upgrade_request - 1);
                c->state = 1;
                struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
                epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event);
                continue;
            }
            ssize_t got = read(fd, c->data + c->used, (size_t)(BUFFER - c->used));
            if (got <= 0) {
                fprintf(stderr, "the server closed client %d (state %d)\n", c->user, c->state);
                return 3;
            }
            c->used += (int)got;
            if (advance(fd, c)) {
                done++;
                struct epoll_event event = {0};
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, &event);  // stays open, no longer watched
                if (started < n) start_client(epoll, client_port, ++started, sources);
            }
        }
    }
    double seconds = now() - start, client_cpu = own_cpu() - client_start, server_end = process_cpu(server_pid);
    double server_us = server_start < 0 || server_end < 0 ? -1 : (server_end - server_start) * 1e6 / done;
    printf("CONNECTED %d SECONDS %.3f RATE %.0f CLIENT_US %.0f SERVER_US %.0f\n", done, seconds, done / seconds,
           client_cpu * 1e6 / done, server_us);
    return 0;
}

int main(int argc, char **argv) {
    connections = calloc(MAX_FDS, sizeof *connections);
    if (argc == 4 && strcmp(argv[1], "server") == 0) run_server(atoi(argv[2]), atoi(argv[3]));
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "client") == 0)
        return run_client(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                          argc == 8 ? atoi(argv[7]) : 0);
    fprintf(stderr, "usage: %s server ADMIN_PORT CLIENT_PORT | client ADMIN_PORT CLIENT_PORT N IN_FLIGHT SOURCES [SERVER_PID]\n",
            argv[0]);
    return 2;
}
