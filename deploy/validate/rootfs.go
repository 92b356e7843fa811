package validate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Instruction is one Dockerfile instruction: its keyword in upper case, its
// arguments (line continuations joined) and its line.
type Instruction struct {
	Cmd  string
	Args string
	Line int
}

// Stage is one FROM ... [AS name] section of a Dockerfile.
type Stage struct {
	From, Name string
	Steps      []Instruction
}

// ParseDockerfile splits a Dockerfile into stages. It understands what
// Lookout's Dockerfiles use: comments, parser directives, `\` line
// continuations and one instruction per logical line.
func ParseDockerfile(r io.Reader) ([]Stage, error) {
	var stages []Stage
	sc := bufio.NewScanner(r)
	var cur strings.Builder
	start, n := 0, 0
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := Instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				f = f[1:]
			}
			if len(f) == 0 {
				return fmt.Errorf("line %d: FROM without an image", in.Line)
			}
			st := Stage{From: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.Name = f[2]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.Cmd == "ARG" {
				return nil // global build arguments
			}
			return fmt.Errorf("line %d: %s before FROM", in.Line, in.Cmd)
		}
		st := &stages[len(stages)-1]
		st.Steps = append(st.Steps, in)
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(trim, "\\") {
			cur.WriteString(strings.TrimSuffix(trim, "\\") + " ")
			continue
		}
		cur.WriteString(trim)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

// Image is what the final stage of a Dockerfile makes of its base: the
// rootfs directory and the process it runs.
type Image struct {
	Base       string
	Entrypoint []string
	Cmd        []string
	UID, GID   int
	Volumes    []string
	Expose     []string
}

// distroless base images Lookout uses, and the user their files belong to.
// Their content that matters to a static Go binary: /etc/passwd and
// /etc/group (root, nonroot 65532, nobody), CA certificates, a world
// writable /tmp (github.com/GoogleContainerTools/distroless, base/static).
var distroless = map[string]bool{
	"gcr.io/distroless/static-debian12":         true,
	"gcr.io/distroless/static-debian12:nonroot": true,
}

// BuildRootfs assembles in dir the root filesystem the final stage of the
// Dockerfile stages describes, with the same steps: the distroless base's
// files, then each instruction of the final stage. artifacts maps the
// source of a COPY --from=build (e.g. /out/lookout-router) to a file on
// this machine. An instruction it does not know is an error, so a changed
// Dockerfile cannot pass unnoticed.
func BuildRootfs(stages []Stage, artifacts map[string]string, dir string) (*Image, error) {
	final := stages[len(stages)-1]
	if !distroless[final.From] {
		return nil, fmt.Errorf("final stage FROM %s: only distroless static bases are known", final.From)
	}
	img := &Image{Base: final.From}
	if strings.HasSuffix(final.From, ":nonroot") {
		img.UID, img.GID = 65532, 65532
	}
	if err := distrolessBase(dir); err != nil {
		return nil, err
	}
	for _, in := range final.Steps {
		var err error
		switch in.Cmd {
		case "COPY":
			err = copyStep(in, artifacts, dir, img)
		case "VOLUME":
			var vols []string
			if vols, err = jsonArray(in); err == nil {
				for _, v := range vols {
					if err = os.MkdirAll(filepath.Join(dir, v), 0o755); err == nil {
						err = os.Chown(filepath.Join(dir, v), img.UID, img.GID)
					}
				}
				img.Volumes = append(img.Volumes, vols...)
			}
		case "USER":
			u, g, _ := strings.Cut(in.Args, ":")
			if img.UID, err = strconv.Atoi(u); err == nil && g != "" {
				img.GID, err = strconv.Atoi(g)
			}
			if err != nil {
				err = fmt.Errorf("USER %s: want numeric uid:gid (no passwd lookup at run time)", in.Args)
			}
			// Volumes created before USER belong to the user that runs.
			for _, v := range img.Volumes {
				if err == nil {
					err = os.Chown(filepath.Join(dir, v), img.UID, img.GID)
				}
			}
		case "EXPOSE":
			img.Expose = append(img.Expose, strings.Fields(in.Args)...)
		case "ENTRYPOINT":
			img.Entrypoint, err = jsonArray(in)
		case "CMD":
			img.Cmd, err = jsonArray(in)
		default:
			err = fmt.Errorf("instruction %s is not known to BuildRootfs", in.Cmd)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", in.Line, err)
		}
	}
	if len(img.Entrypoint) == 0 {
		return nil, fmt.Errorf("final stage has no ENTRYPOINT")
	}
	return img, nil
}

func jsonArray(in Instruction) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(in.Args), &v); err != nil {
		return nil, fmt.Errorf("%s %s: want the exec (JSON array) form: %w", in.Cmd, in.Args, err)
	}
	return v, nil
}

func copyStep(in Instruction, artifacts map[string]string, dir string, img *Image) error {
	f := strings.Fields(in.Args)
	if len(f) != 3 || !strings.HasPrefix(f[0], "--from=") {
		return fmt.Errorf("COPY %s: want COPY --from=STAGE SRC DEST", in.Args)
	}
	src, ok := artifacts[f[1]]
	if !ok {
		return fmt.Errorf("COPY %s: no artifact given for %s", in.Args, f[1])
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, f[2])
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// COPY keeps the mode and makes root the owner.
	return os.WriteFile(dst, data, 0o755)
}

func distrolessBase(dir string) error {
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
	}
	for _, d := range []string{"etc/ssl/certs", "home/nonroot", "root", "tmp", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chown(filepath.Join(dir, "home/nonroot"), 65532, 65532); err != nil {
		return err
	}
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files["etc/ssl/certs/ca-certificates.crt"] = string(ca)
	}
	for p, s := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}
