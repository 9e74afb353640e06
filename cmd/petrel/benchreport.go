package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/petrel-mqtt/petrel/session"
)

// progress prints a line on stderr each second until the returned func is
// called: messages sent and received so far, and their rates over the
// last second.
func (b *bench) progress(start time.Time) (stop func()) {
	if b.f.quiet {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var lastSent, lastRecv uint64
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			sent, recv := b.counts()
			fmt.Fprintf(b.e.stderr, "petrel bench: %3.0fs sent %d (%d/s) received %d (%d/s)\n",
				time.Since(start).Seconds(), sent, sent-lastSent, recv, recv-lastRecv)
			lastSent, lastRecv = sent, recv
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// counts returns the messages sent by all publishers and received by all
// subscribers so far.
func (b *bench) counts() (sent, recv uint64) {
	for _, p := range b.pubs {
		sent += p.sent.Load()
	}
	for _, s := range b.subs {
		recv += s.count.Load()
	}
	return sent, recv
}

// complete reports whether subscriber s has received as many distinct
// messages as were acknowledged to the publishers its filter matches.
func (b *bench) complete(s *benchSub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range b.pubs {
		if matchTopic(s.filter, p.topic) && s.streams[i].received < p.nack {
			return false
		}
	}
	return true
}

// wait waits, once the publishers are done, until every subscriber still
// connected has received what it should, or -drain passes without a
// message, or ctx ends.
func (b *bench) wait(ctx context.Context) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	quietSince := time.Now()
	_, lastRecv := b.counts()
	for {
		done := true
		for i, s := range b.subs {
			select {
			case <-b.scs[i].Done():
				continue // lost its connection: reported
			default:
			}
			if !b.complete(s) {
				done = false
				break
			}
		}
		if done {
			return
		}
		if _, recv := b.counts(); recv != lastRecv {
			lastRecv, quietSince = recv, time.Now()
		} else if time.Since(quietSince) >= b.f.drain {
			return
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// disconnect disconnects every client that connected.
func (b *bench) disconnect() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, cs := range [][]*session.Client{b.pcs, b.scs} {
		for _, c := range cs {
			if c != nil {
				c.Disconnect(ctx)
			}
		}
	}
}

// benchResult is what petrel bench reports; -json writes it as is.
type benchResult struct {
	Publishers   int     `json:"publishers"`
	Subscribers  int     `json:"subscribers"`
	QoS          int     `json:"qos"`
	PayloadBytes int     `json:"payload_bytes"`
	Seconds      float64 `json:"seconds"` // from the first message sent to the last received, or to the last sent
	Sent         uint64  `json:"sent"`
	Acked        uint64  `json:"acked"` // at QoS 0, every message written
	Failed       uint64  `json:"failed"`
	SentRate     float64 `json:"sent_per_second"`
	Received     uint64  `json:"received"` // by all subscribers, duplicates included
	RecvRate     float64 `json:"received_per_second"`
	Expected     uint64  `json:"expected"` // by all subscribers
	Lost         uint64  `json:"lost"`
	Duplicated   uint64  `json:"duplicated"`
	OutOfOrder   uint64  `json:"out_of_order"`
	Errors       int     `json:"errors"` // clients whose connection ended early
	Latency      struct {
		P50 float64 `json:"p50"`
		P90 float64 `json:"p90"`
		P99 float64 `json:"p99"`
		Max float64 `json:"max"`
	} `json:"latency_seconds"`
	PubDetail []benchPubResult `json:"publisher_detail"`
	SubDetail []benchSubResult `json:"subscriber_detail"`
}

type benchPubResult struct {
	ClientID string `json:"client_id"`
	Topic    string `json:"topic"`
	Sent     uint64 `json:"sent"`
	Acked    uint64 `json:"acked"`
	Failed   uint64 `json:"failed"`
	Error    string `json:"error,omitempty"`
}

type benchSubResult struct {
	ClientID   string `json:"client_id"`
	Filter     string `json:"filter"`
	Expected   uint64 `json:"expected"` // messages acknowledged to the publishers it matches
	Received   uint64 `json:"received"` // distinct
	Lost       uint64 `json:"lost"`
	Duplicated uint64 `json:"duplicated"`
	OutOfOrder uint64 `json:"out_of_order"`
	Error      string `json:"error,omitempty"`
}

// result adds up the tallies once the run is over.
func (b *bench) result(start, sentEnd time.Time) *benchResult {
	f := b.f
	r := &benchResult{Publishers: f.pubs, Subscribers: f.subs, QoS: f.qos, PayloadBytes: f.size}
	end := sentEnd
	for i, p := range b.pubs {
		pr := benchPubResult{ClientID: p.id, Topic: p.topic, Sent: p.sent.Load(), Acked: p.nack, Failed: p.fail}
		if p.err == nil {
			select {
			case <-b.pcs[i].Done():
				p.err = b.pcs[i].Err()
			default:
			}
		}
		if p.err != nil {
			pr.Error = trimMQTT(p.err)
			r.Errors++
		}
		r.Sent += pr.Sent
		r.Acked += pr.Acked
		r.Failed += pr.Failed
		r.PubDetail = append(r.PubDetail, pr)
	}
	var lat histogram
	for i, s := range b.subs {
		select {
		case <-b.scs[i].Done():
			s.err = b.scs[i].Err()
		default:
		}
		s.mu.Lock()
		sr := benchSubResult{ClientID: s.id, Filter: s.filter}
		for j, p := range b.pubs {
			st := &s.streams[j]
			sr.Received += st.received
			sr.Duplicated += st.dup
			sr.OutOfOrder += st.ooo
			if !matchTopic(s.filter, p.topic) {
				continue
			}
			sr.Expected += p.nack
			for seq := uint64(0); seq < p.sent.Load(); seq++ {
				if p.acked.has(seq) && !st.seen.has(seq) {
					sr.Lost++
				}
			}
		}
		lat.merge(&s.lat)
		if last := s.last.Load(); last > 0 {
			end = later(end, time.Unix(0, last))
		}
		s.mu.Unlock()
		if s.err != nil {
			sr.Error = trimMQTT(s.err)
			r.Errors++
		}
		r.Received += s.count.Load()
		r.Expected += sr.Expected
		r.Lost += sr.Lost
		r.Duplicated += sr.Duplicated
		r.OutOfOrder += sr.OutOfOrder
		r.SubDetail = append(r.SubDetail, sr)
	}
	r.Seconds = end.Sub(start).Seconds()
	if d := sentEnd.Sub(start).Seconds(); d > 0 {
		r.SentRate = float64(r.Sent) / d
	}
	if r.Seconds > 0 {
		r.RecvRate = float64(r.Received) / r.Seconds
	}
	r.Latency.P50 = lat.quantile(0.50).Seconds()
	r.Latency.P90 = lat.quantile(0.90).Seconds()
	r.Latency.P99 = lat.quantile(0.99).Seconds()
	r.Latency.Max = lat.quantile(1).Seconds()
	return r
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (r *benchResult) writeJSON(w io.Writer) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(r)
}

func (r *benchResult) writeText(w io.Writer) {
	d := func(s float64) string {
		return time.Duration(s * float64(time.Second)).Round(time.Microsecond).String()
	}
	fmt.Fprintf(w, "%d publishers, %d subscribers, QoS %d, %d-byte payloads, %s\n",
		r.Publishers, r.Subscribers, r.QoS, r.PayloadBytes, d(r.Seconds))
	fmt.Fprintf(w, "sent      %d messages, %.0f msg/s (acknowledged %d, failed %d)\n", r.Sent, r.SentRate, r.Acked, r.Failed)
	fmt.Fprintf(w, "received  %d messages, %.0f msg/s (expected %d)\n", r.Received, r.RecvRate, r.Expected)
	fmt.Fprintf(w, "latency   p50 %s  p90 %s  p99 %s  max %s\n", d(r.Latency.P50), d(r.Latency.P90), d(r.Latency.P99), d(r.Latency.Max))
	fmt.Fprintf(w, "lost %d, duplicated %d, out of order %d\n", r.Lost, r.Duplicated, r.OutOfOrder)
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "subscriber\texpected\treceived\tlost\tduplicated\tout of order\t")
	for _, s := range r.SubDetail {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", s.ClientID, s.Expected, s.Received, s.Lost, s.Duplicated, s.OutOfOrder, s.Error)
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		io.WriteString(w, strings.TrimRight(line, " \n")+"\n"[:min(1, len(line))])
	}
	for _, p := range r.PubDetail {
		if p.Error != "" {
			fmt.Fprintf(w, "publisher %s: %s\n", p.ClientID, p.Error)
		}
	}
}
