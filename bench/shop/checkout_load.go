// checkout_load: load generator for the shop of `libromind serve` (standard library only).
//
//	go build -o checkout_load . && ./checkout_load -base http://127.0.0.1:8080 -books pg-84,pg-11
//
// Modes (-mode):
//
//	checkout  N clients (-clients, default 50), each its own user (registered if new and logged
//	          in during setup, not timed), loop { POST /api/v1/cart/items (1 copy of the next
//	          book of -books, round-robin from a per-client offset so that several clients hit
//	          the same rows at once), POST /api/v1/orders with a fresh Idempotency-Key } for
//	          -duration after -warmup. Reports orders/s (201s per second of the measured
//	          window), the latency of POST /orders (p50/p90/p99) and of POST /cart/items, and
//	          the responses by status and problem type. -set-stock N first sets every book of
//	          -books to N copies (admin PATCH), so that stock does not run out during the run.
//	          -watch-pids gives the CPU time of the server processes in the measured window;
//	          -window-hook runs a command as the window opens and closes (store statistics).
//	login     logins of the same users, -login-clients concurrent clients (default "1,4", one
//	          level after the other), each for -login-duration; latency p50/p90/p99.
//	oversell  the admin sets -oversell-book to -oversell-stock copies (default 10); -clients
//	          users put one copy each in their cart, then all check out at the same moment.
//	          Reports the orders made and the stock read back through GET /api/v1/books/{id}
//	          -cache-wait later (the response cache follows the change feed, polled every
//	          250 ms by default). It must be exactly -oversell-stock orders and 0 copies left.
//
// Every latency is measured from sending the request to having read the whole response body,
// on keep-alive connections (one per client). One JSON object is written to stdout; progress
// goes to stderr. Exit status 0 when the run worked (whatever the numbers), 1 when setup
// failed, 3 when the oversell check failed.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	base         = flag.String("base", "http://127.0.0.1:8080", "server base URL")
	mode         = flag.String("mode", "checkout", "checkout, login or oversell")
	clients      = flag.Int("clients", 50, "concurrent clients (checkout, oversell); each is its own user")
	duration     = flag.Duration("duration", 20*time.Second, "measured time (checkout)")
	warmup       = flag.Duration("warmup", 3*time.Second, "unmeasured time before the measured window (checkout)")
	booksFlag    = flag.String("books", "", "comma-separated book ids bought round-robin (checkout)")
	userPrefix   = flag.String("user-prefix", "shopbench", "users are PREFIX-I@bench.example.org")
	password     = flag.String("password", "Bench-Checkout-Pass-7Q", "password of the benchmark users")
	setupConc    = flag.Int("setup-concurrency", 4, "concurrent registrations/logins during setup")
	loginClients = flag.String("login-clients", "1,4", "comma-separated concurrency levels (login)")
	loginDur     = flag.Duration("login-duration", 10*time.Second, "measured time per level (login)")
	adminEmail   = flag.String("admin-email", "", "administrator e-mail (-set-stock, oversell)")
	adminPwFile  = flag.String("admin-password-file", "", "file with the administrator's password")
	setStock     = flag.Int("set-stock", -1, "checkout: set every -books book to this stock first (-1: leave)")
	overBook     = flag.String("oversell-book", "", "book id raced for (oversell)")
	overStock    = flag.Int("oversell-stock", 10, "copies left before the race (oversell)")
	cacheWait    = flag.Duration("cache-wait", 400*time.Millisecond, "oversell: wait before reading the stock back")
	timeout      = flag.Duration("timeout", 30*time.Second, "per-request timeout")
	windowHook   = flag.String("window-hook", "", "checkout: shell command run with argument 'start' as the measured window opens and 'end' as it closes")
	watchPids    = flag.String("watch-pids", "", "checkout: NAME=PID,... whose CPU time (with direct children) is reported for the measured window")
)

var checkoutBody = []byte(`{"shipping":{"name":"A B","line1":"1 Main St","city":"Town","postal_code":"12345","country":"US"},` +
	`"payment":{"card_number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}`)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[checkout_load %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	logf("error: "+format, args...)
	os.Exit(1)
}

// --- HTTP -------------------------------------------------------------------------------------

var httpClient *http.Client

type reply struct {
	status int
	body   []byte
	dur    time.Duration
	err    error
	done   time.Time
}

func call(method, path, token string, body []byte, headers map[string]string) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, *base+path, rd)
	if err != nil {
		return reply{err: err, done: time.Now()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		now := time.Now()
		return reply{err: err, dur: now.Sub(t0), done: now}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	now := time.Now()
	return reply{status: resp.StatusCode, body: b, dur: now.Sub(t0), err: err, done: now}
}

// outcome: "201", "409 out-of-stock" (problem type of an error response), "transport".
func outcome(r reply) string {
	if r.err != nil {
		return "transport"
	}
	s := strconv.Itoa(r.status)
	if r.status >= 400 {
		var p struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(r.body, &p) == nil && p.Type != "" {
			s += " " + p.Type[strings.LastIndex(p.Type, "/")+1:]
		}
	}
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func newKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// --- users ------------------------------------------------------------------------------------

func email(i int) string { return fmt.Sprintf("%s-%d@bench.example.org", *userPrefix, i) }

func login(mail, pw string) (string, reply) {
	r := call("POST", "/api/v1/auth/login", "", mustJSON(map[string]string{"email": mail, "password": pw}), nil)
	if r.err != nil || r.status != 200 {
		return "", r
	}
	var s struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &s); err != nil || s.AccessToken == "" {
		r.err = fmt.Errorf("login: no access_token in %q", r.body)
		return "", r
	}
	return s.AccessToken, r
}

func describe(r reply) string {
	if r.err != nil {
		return r.err.Error()
	}
	body := string(r.body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("HTTP %d %s", r.status, body)
}

// setupUsers registers users 0..n-1 (409 email-taken for those of an earlier run is fine: a
// failed login first would count against the address's login throttle), signs them in and
// empties their carts.
func setupUsers(n int) []string {
	tokens := make([]string, n)
	errs := make([]string, n)
	sem := make(chan struct{}, max(1, *setupConc))
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := call("POST", "/api/v1/auth/register", "", mustJSON(map[string]string{"email": email(i), "password": *password}), nil)
			if r.err != nil || (r.status != 201 && r.status != 409) {
				errs[i] = "register " + email(i) + ": " + describe(r)
				return
			}
			tok, lr := login(email(i), *password)
			if tok == "" {
				errs[i] = "login " + email(i) + ": " + describe(lr)
				return
			}
			if cr := call("DELETE", "/api/v1/cart", tok, nil, nil); cr.err != nil || cr.status != 200 {
				errs[i] = "empty the cart of " + email(i) + ": " + describe(cr)
				return
			}
			tokens[i] = tok
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			fatalf("setup: %s", e)
		}
	}
	return tokens
}

func adminToken() string {
	if *adminEmail == "" || *adminPwFile == "" {
		fatalf("-admin-email and -admin-password-file are required for this mode/flag")
	}
	b, err := os.ReadFile(*adminPwFile)
	if err != nil {
		fatalf("read -admin-password-file: %v", err)
	}
	pw := strings.SplitN(string(b), "\n", 2)[0]
	tok, r := login(*adminEmail, pw)
	if tok == "" {
		fatalf("admin login: %s", describe(r))
	}
	return tok
}

func patchStock(tok, id string, stock int) {
	r := call("PATCH", "/api/v1/admin/books/"+id, tok, mustJSON(map[string]int{"stock": stock}), nil)
	if r.err != nil || r.status != 200 {
		fatalf("PATCH /api/v1/admin/books/%s stock=%d: %s", id, stock, describe(r))
	}
	var b struct {
		Stock *int `json:"stock"`
	}
	if json.Unmarshal(r.body, &b) != nil || b.Stock == nil || *b.Stock != stock {
		fatalf("PATCH /api/v1/admin/books/%s: stock not %d in %s", id, stock, describe(r))
	}
}

func readStock(id string) (int, error) {
	r := call("GET", "/api/v1/books/"+id, "", nil, nil)
	if r.err != nil || r.status != 200 {
		return -1, fmt.Errorf("GET /api/v1/books/%s: %s", id, describe(r))
	}
	var b struct {
		Stock *int `json:"stock"`
	}
	if json.Unmarshal(r.body, &b) != nil || b.Stock == nil {
		return -1, fmt.Errorf("GET /api/v1/books/%s: no stock in the body", id)
	}
	return *b.Stock, nil
}

// --- statistics -------------------------------------------------------------------------------

type latency struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize: nearest-rank percentiles.
func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	pick := func(p float64) float64 {
		k := int(p*float64(len(ds))+0.999999) - 1
		return ms(ds[min(max(k, 0), len(ds)-1)])
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return latency{len(ds), ms(sum / time.Duration(len(ds))), pick(0.50), pick(0.90), pick(0.99), ms(ds[len(ds)-1])}
}

type tally struct {
	lat      []time.Duration // of the 2xx answers
	outcomes map[string]int
}

func newTally() *tally { return &tally{outcomes: map[string]int{}} }

func (t *tally) add(r reply) {
	o := outcome(r)
	t.outcomes[o]++
	if r.err == nil && r.status >= 200 && r.status < 300 {
		t.lat = append(t.lat, r.dur)
	}
}

func merge(ts []*tally) *tally {
	out := newTally()
	for _, t := range ts {
		out.lat = append(out.lat, t.lat...)
		for k, v := range t.outcomes {
			out.outcomes[k] += v
		}
	}
	return out
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// /proc accounting, in USER_HZ ticks (100 per second on Linux).
const ticksPerSecond = 100

func procTicks(pid string) (ppid string, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return "", 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return f[1], u + st, true
}

// treeTicks: the CPU time of pid and its direct children (PostgreSQL's backends).
func treeTicks(pid string) int64 {
	_, total, _ := procTicks(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		if pp, t, ok := procTicks(e.Name()); ok && pp == pid {
			total += t
		}
	}
	return total
}

// machineBusyTicks: all CPUs' non-idle time from /proc/stat.
func machineBusyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	var busy int64
	for i, name := range []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"} {
		if i+1 >= len(f) {
			break
		}
		v, _ := strconv.ParseInt(f[i+1], 10, 64)
		if name != "idle" && name != "iowait" {
			busy += v
		}
	}
	return busy
}

type cpuSnap struct {
	client  float64
	machine int64
	procs   map[string]int64
}

func snapCPU(watch map[string]string) cpuSnap {
	s := cpuSnap{client: cpuSeconds(), machine: machineBusyTicks(), procs: map[string]int64{}}
	for name, pid := range watch {
		s.procs[name] = treeTicks(pid)
	}
	return s
}

// cpuUse: CPU seconds spent during the window by each watched process tree, this client, the
// whole machine, and the rest of the machine ("other": whatever else ran meanwhile).
func cpuUse(a, b cpuSnap) map[string]float64 {
	out := map[string]float64{"client": b.client - a.client,
		"machine": float64(b.machine-a.machine) / ticksPerSecond}
	other := out["machine"] - out["client"]
	for name, t := range b.procs {
		v := float64(t-a.procs[name]) / ticksPerSecond
		out[name] = v
		other -= v
	}
	out["other"] = max(other, 0)
	return out
}

func hook(phase string) {
	if *windowHook == "" {
		return
	}
	cmd := exec.Command("/bin/sh", "-c", *windowHook+" "+phase)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		logf("warning: -window-hook %s: %v", phase, err)
	}
}

func parseWatch(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range splitList(s) {
		name, pid, ok := strings.Cut(kv, "=")
		if !ok {
			fatalf("-watch-pids: want NAME=PID, got %q", kv)
		}
		m[name] = pid
	}
	return m
}

func count5xx(m map[string]int) int {
	n := 0
	for k, v := range m {
		if strings.HasPrefix(k, "5") || k == "transport" {
			n += v
		}
	}
	return n
}

// --- modes ------------------------------------------------------------------------------------

type opResult struct {
	Latency  latency        `json:"latency"` // of the 2xx answers
	Outcomes map[string]int `json:"outcomes"`
}

type checkoutResult struct {
	Mode         string             `json:"mode"`
	Base         string             `json:"base"`
	Clients      int                `json:"clients"`
	DurationS    float64            `json:"duration_s"`
	WarmupS      float64            `json:"warmup_s"`
	Books        []string           `json:"books"`
	SetupS       float64            `json:"setup_s"`
	Orders       int                `json:"orders"`
	OrdersPerS   float64            `json:"orders_per_s"`
	Checkout     opResult           `json:"checkout"`
	AddToCart    opResult           `json:"add_to_cart"`
	Errors       int                `json:"errors"`
	ServerErrors int                `json:"server_errors"`
	CPUSeconds   map[string]float64 `json:"cpu_s"`
	WindowStart  float64            `json:"window_start_unix"`
	WindowEnd    float64            `json:"window_end_unix"`
}

func runCheckout() any {
	books := splitList(*booksFlag)
	if len(books) == 0 {
		fatalf("-books is required")
	}
	t0 := time.Now()
	if *setStock >= 0 {
		tok := adminToken()
		for _, id := range books {
			patchStock(tok, id, *setStock)
		}
		logf("stock of %d books set to %d", len(books), *setStock)
	}
	tokens := setupUsers(*clients)
	setup := time.Since(t0)
	logf("setup: %d users ready in %.1fs; warm-up %s, then %s measured", *clients, setup.Seconds(), *warmup, *duration)

	start := time.Now()
	ws, we := start.Add(*warmup), start.Add(*warmup+*duration)
	cart, orders := make([]*tally, *clients), make([]*tally, *clients)
	var wg sync.WaitGroup
	watch := parseWatch(*watchPids)
	var cpu0, cpu1 cpuSnap
	var cpuWG sync.WaitGroup
	cpuWG.Add(1)
	go func() {
		defer cpuWG.Done()
		time.Sleep(time.Until(ws))
		hook("start")
		cpu0 = snapCPU(watch)
		time.Sleep(time.Until(we))
		cpu1 = snapCPU(watch)
		hook("end")
	}()
	for i := range *clients {
		cart[i], orders[i] = newTally(), newTally()
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := tokens[i]
			in := func(r reply) bool { return !r.done.Before(ws) && !r.done.After(we) }
			for k := 0; time.Now().Before(we); k++ {
				book := books[(i+k)%len(books)]
				r := call("POST", "/api/v1/cart/items", tok, mustJSON(map[string]any{"book_id": book, "quantity": 1}), nil)
				if in(r) {
					cart[i].add(r)
				}
				if !time.Now().Before(we) {
					break
				}
				r2 := call("POST", "/api/v1/orders", tok, checkoutBody, map[string]string{"Idempotency-Key": newKey()})
				if in(r2) {
					orders[i].add(r2)
				}
				if r.err != nil || r2.err != nil {
					time.Sleep(10 * time.Millisecond) // a refused connection must not spin
				}
			}
		}()
	}
	wg.Wait()
	cpuWG.Wait()
	c, o := merge(cart), merge(orders)
	n201 := o.outcomes["201"]
	errs := 0
	for _, t := range []*tally{c, o} {
		for k, v := range t.outcomes {
			if !strings.HasPrefix(k, "2") {
				errs += v
			}
		}
	}
	res := checkoutResult{
		Mode: "checkout", Base: *base, Clients: *clients, DurationS: duration.Seconds(), WarmupS: warmup.Seconds(),
		Books: books, SetupS: setup.Seconds(), Orders: n201, OrdersPerS: float64(n201) / duration.Seconds(),
		Checkout:  opResult{summarize(o.lat), o.outcomes},
		AddToCart: opResult{summarize(c.lat), c.outcomes},
		Errors:    errs, ServerErrors: count5xx(c.outcomes) + count5xx(o.outcomes), CPUSeconds: cpuUse(cpu0, cpu1),
		WindowStart: float64(ws.UnixMilli()) / 1000, WindowEnd: float64(we.UnixMilli()) / 1000,
	}
	logf("%d orders in %s: %.1f orders/s; checkout p50 %.1f ms p99 %.1f ms; errors %d",
		n201, *duration, res.OrdersPerS, res.Checkout.Latency.P50, res.Checkout.Latency.P99, errs)
	return res
}

type loginLevel struct {
	Clients    int            `json:"clients"`
	DurationS  float64        `json:"duration_s"`
	Logins     int            `json:"logins"`
	LoginsPerS float64        `json:"logins_per_s"`
	Latency    latency        `json:"latency"`
	Outcomes   map[string]int `json:"outcomes"`
}

func runLogin() any {
	var levels []int
	for _, s := range splitList(*loginClients) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fatalf("-login-clients: bad level %q", s)
		}
		levels = append(levels, n)
	}
	setupUsers(slices.Max(levels))
	var out []loginLevel
	for _, n := range levels {
		// One unmeasured login per client first (connections, caches).
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() { defer wg.Done(); login(email(i), *password) }()
		}
		wg.Wait()
		ts := make([]*tally, n)
		end := time.Now().Add(*loginDur)
		for i := range n {
			ts[i] = newTally()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					_, r := login(email(i), *password)
					ts[i].add(r)
				}
			}()
		}
		wg.Wait()
		t := merge(ts)
		l := loginLevel{Clients: n, DurationS: loginDur.Seconds(), Logins: t.outcomes["200"],
			LoginsPerS: float64(t.outcomes["200"]) / loginDur.Seconds(), Latency: summarize(t.lat), Outcomes: t.outcomes}
		logf("login, %d clients: %d logins, p50 %.1f ms, p99 %.1f ms", n, l.Logins, l.Latency.P50, l.Latency.P99)
		out = append(out, l)
	}
	return map[string]any{"mode": "login", "base": *base, "levels": out}
}

type oversellResult struct {
	Mode            string         `json:"mode"`
	Base            string         `json:"base"`
	Book            string         `json:"book"`
	Clients         int            `json:"clients"`
	StockBefore     int            `json:"stock_before"`
	AddToCart       map[string]int `json:"add_to_cart_outcomes"`
	Checkout        map[string]int `json:"checkout_outcomes"`
	Orders          int            `json:"orders"`
	RaceS           float64        `json:"race_s"`
	CacheWaitMS     float64        `json:"cache_wait_ms"`
	StockAfter      int            `json:"stock_after"`
	StockAfterLater int            `json:"stock_after_2s"`
	OK              bool           `json:"ok"`
	Problem         string         `json:"problem,omitempty"`
	CheckoutLatency latency        `json:"checkout_latency"`
}

func runOversell() any {
	if *overBook == "" {
		fatalf("-oversell-book is required")
	}
	tokens := setupUsers(*clients)
	patchStock(adminToken(), *overBook, *overStock)
	// Everyone puts one copy in the cart while copies are left (the cart checks stock too).
	cart := newTally()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call("POST", "/api/v1/cart/items", tokens[i], mustJSON(map[string]any{"book_id": *overBook, "quantity": 1}), nil)
			mu.Lock()
			cart.add(r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Then all check out at once.
	gun := make(chan struct{})
	orders := newTally()
	var ready sync.WaitGroup
	for i := range *clients {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			ready.Done()
			<-gun
			r := call("POST", "/api/v1/orders", tokens[i], checkoutBody, map[string]string{"Idempotency-Key": newKey()})
			mu.Lock()
			orders.add(r)
			mu.Unlock()
		}()
	}
	ready.Wait()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	close(gun)
	wg.Wait()
	race := time.Since(t0)
	time.Sleep(*cacheWait)
	res := oversellResult{Mode: "oversell", Base: *base, Book: *overBook, Clients: *clients, StockBefore: *overStock,
		AddToCart: cart.outcomes, Checkout: orders.outcomes, Orders: orders.outcomes["201"], RaceS: race.Seconds(),
		CacheWaitMS: ms(*cacheWait), CheckoutLatency: summarize(orders.lat)}
	var err error
	if res.StockAfter, err = readStock(*overBook); err != nil {
		res.Problem = err.Error()
	}
	time.Sleep(2 * time.Second)
	if res.StockAfterLater, err = readStock(*overBook); err != nil {
		res.Problem = err.Error()
	}
	want := min(*overStock, *clients)
	res.OK = res.Problem == "" && res.Orders == want && res.StockAfter == *overStock-want && res.StockAfterLater == *overStock-want
	if !res.OK && res.Problem == "" {
		res.Problem = fmt.Sprintf("want %d orders and %d copies left, got %d orders and stock %d (%d two seconds later)",
			want, *overStock-want, res.Orders, res.StockAfter, res.StockAfterLater)
	}
	logf("oversell: %d orders for %d copies, stock read back %d (then %d): ok=%v", res.Orders, *overStock, res.StockAfter, res.StockAfterLater, res.OK)
	return res
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func main() {
	flag.Parse()
	*base = strings.TrimRight(*base, "/")
	httpClient = &http.Client{
		Timeout: *timeout,
		Transport: &http.Transport{
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: 2 * max(*clients, 8),
			IdleConnTimeout:     90 * time.Second,
		},
	}
	var res any
	switch *mode {
	case "checkout":
		res = runCheckout()
	case "login":
		res = runLogin()
	case "oversell":
		res = runOversell()
	default:
		fatalf("unknown -mode %q (checkout, login, oversell)", *mode)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(res); err != nil {
		fatalf("%v", err)
	}
	if r, ok := res.(oversellResult); ok && !r.OK {
		os.Exit(3)
	}
}
