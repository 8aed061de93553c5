-- wrk script: POST /user/send to pushinator's admin API, as a backend does for every message.
wrk.method = "POST"
wrk.body = '{"userId":"bench-user","message":{"title":"hello","body":"a message of a typical size"}}'
wrk.headers["Content-Type"] = "application/json"
