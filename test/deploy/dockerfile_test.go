package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

type stage struct {
	from, name string
	instrs     []instruction
}

// parseDockerfile reads the stages of a Dockerfile: enough for the checks below, not a full
// parser (no heredocs, no escape directive).
func parseDockerfile(file string) ([]stage, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", start)
			}
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			return nil
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before the first FROM", start, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		return nil
	}
	for i, raw := range strings.Split(string(b), "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return stages, nil
}

// checkDockerfile checks the image recipe: a golang:1.26 builder that runs the same build as
// `make build` with cgo off, and a final distroless-static (or scratch) stage with no shell
// instructions, a non-root default user and an exec-form ENTRYPOINT that passes
// `--config <path>`. It returns that path.
func checkDockerfile(stages []stage) (string, problems) {
	var p problems
	if len(stages) < 2 {
		p.addf("want a multi-stage build, found %d stage(s)", len(stages))
		return "", p
	}
	builder, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(builder.from, "golang:1.26") {
		p.addf("builder stage is FROM %s, want golang:1.26", builder.from)
	}
	var runs, envs []string
	for _, in := range builder.instrs {
		switch in.cmd {
		case "RUN":
			runs = append(runs, in.args)
		case "ENV":
			envs = append(envs, in.args)
		}
	}
	if !strings.Contains(strings.Join(runs, "\n"), "make build") {
		p.addf("builder stage does not RUN `make build` (the same ocb build as the Makefile)")
	}
	if !strings.Contains(strings.Join(append(envs, runs...), "\n"), "CGO_ENABLED=0") {
		p.addf("builder stage does not set CGO_ENABLED=0: the final image has no libc")
	}

	switch {
	case strings.Contains(final.from, "distroless/static"):
		if !strings.HasSuffix(final.from, ":nonroot") {
			p.addf("final stage FROM %s: use the :nonroot variant", final.from)
		}
	case final.from == "scratch":
		if !strings.Contains(fmt.Sprint(final.instrs), "ca-certificates") {
			p.addf("a scratch image needs CA certificates copied in")
		}
	default:
		p.addf("final stage FROM %s, want distroless static or scratch", final.from)
	}
	var entrypoint []string
	user := ""
	copiedTo := map[string]bool{}
	for _, in := range final.instrs {
		switch in.cmd {
		case "RUN", "SHELL", "HEALTHCHECK":
			p.addf("line %d: %s in the final stage: it has no shell", in.line, in.cmd)
		case "USER":
			user = in.args
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) > 0 {
				copiedTo[f[len(f)-1]] = true
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				p.addf("line %d: ENTRYPOINT must be in exec (JSON) form: %v", in.line, err)
			}
		case "CMD":
			p.addf("line %d: CMD in the final stage: keep the whole command line in ENTRYPOINT", in.line)
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		p.addf("final stage USER is %q, want a non-root user (the DaemonSet chooses uid 0 itself)", user)
	}
	if len(entrypoint) == 0 {
		p.addf("final stage has no ENTRYPOINT")
		return "", p
	}
	if !copiedTo[entrypoint[0]] {
		p.addf("ENTRYPOINT runs %s, which no COPY in the final stage puts there", entrypoint[0])
	}
	for i, a := range entrypoint {
		if a == "--config" && i+1 < len(entrypoint) {
			return entrypoint[i+1], p
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v, p
		}
	}
	p.addf("ENTRYPOINT %v does not pass --config", entrypoint)
	return "", p
}
