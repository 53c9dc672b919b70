
use builtin;
use str;

set edit:completion:arg-completer[strata] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'strata'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'strata'= {
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand inspect 'Show the image''s metadata and every layer: digests, compression, sizes, diffID, chainID'
            cand images 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root''s as `docker images` does'
            cand history 'Show the image''s build history, like `docker history`'
            cand chainid 'Compute chainIDs from diffIDs (arguments, stdin, or an image''s config)'
            cand verify 'Recompute every digest, size and diffID from the bytes and compare with manifest and config'
            cand extract 'Write the merged root filesystem (all layers applied in order) to a directory or a tar'
            cand mount 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir'
            cand umount 'Unmount what `strata mount` mounted and remove its upper and work dirs'
            cand store 'Look after the layer store: list layers, remove them, prune unused ones'
            cand storage 'Check where images live: a Docker data root''s records against its files, and leftovers'
            cand ls 'List the merged tree (as of layer N) with the layer each path comes from'
            cand diff 'Show what each layer added, modified and deleted, or compare two images by content'
            cand cat 'Print one file of the image (as of layer N); symlinks are resolved inside the image'
            cand waste 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive''s rules'
            cand shell 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace'
            cand __enter '(internal) The namespace side of `shell`: runs in a fresh single-threaded process'
            cand __init '(internal) pid 1 of a `shell` session: enters the image''s root and runs the command'
            cand completions 'Print a shell completion script generated from these definitions'
            cand man 'Print the man page (roff) of strata or of one of its commands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;inspect'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --format 'Print a Go-style template of the JSON instead: `{{.image.id}}`, `{{json .layers}}`, …'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print one JSON object (the stable contract) instead of tables'
            cand --no-trunc 'Show full digests instead of shortened ones, and keep every column on a narrow terminal (the table is fitted to its width, or to $COLUMNS, otherwise)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;images'= {
            cand --docker-root 'With `docker-root:`: the Docker data root (default /var/lib/docker)'
            cand --storage-root 'With `containers-storage:`: podman''s storage root (default /var/lib/containers/storage)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print a JSON array (the stable contract) instead of a table'
            cand --no-trunc 'Show full digests instead of shortened ones'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;history'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand -H 'Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw)'
            cand --human 'Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw)'
            cand --format '`table` (default), `json` (docker''s: one object per line), or a Go-template-like string with {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}'
            cand --image-store 'Which Docker image store to print as. `classic` (docker''s graphdriver store, the default before Docker 29): image IDs are config digests, sizes the unpacked bytes. `containerd` (the containerd image store, the default of fresh Docker 29 installs): the top row''s ID is what `docker load` makes the image''s target (the manifest, the multi-platform index above it, or for a legacy docker save the manifest the loader writes), no parent IDs, and sizes are disk usage in 4 KiB blocks as on ext4 (directories included), which is what that store measures on most hosts. A pre-1.10 docker save, which that store does not load, is refused'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --no-trunc 'Don''t truncate output'
            cand -q 'Only show image IDs'
            cand --quiet 'Only show image IDs'
            cand --json 'Print strata''s own JSON: the `history` rows of `inspect --json`, raw values'
            cand --all-layers 'Also show a row for each layer that no history step describes (the config lists fewer non-empty steps than layers). Docker shows only the steps'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;chainid'= {
            cand --archive 'Print the chain of this image archive''s config (`rootfs.diff_ids`) instead: a docker-save tar, an OCI layout dir or tar, optionally .gz/.zst; `-` for stdin'
            cand --image 'With --archive: which image of several, as everywhere else (a tag, a digest, `#N`)'
            cand --ref 'With --archive: which image of several, as everywhere else (a tag, a digest, `#N`)'
            cand --docker-root 'With --archive docker-root:REF: the Docker data root (default /var/lib/docker)'
            cand --platform 'With --archive: os/arch[/variant] from a multi-platform index'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print JSON: [{"index", "diff_id", "chain_id"}]'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;verify'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --expect-chainid 'Also require the top layer''s chainID to be this one'
            cand --format 'Print a Go-style template of each check''s JSON instead, one line per check: `{{.what}} {{.ok}} {{.found}}`, …'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print {"ok", "checks": [...]} instead of one line per check'
            cand --no-trunc 'Keep full digests and names on a terminal too narrow for them (lines are shortened to the terminal''s width, or to $COLUMNS, otherwise)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;extract'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --layer 'Stop after layer N (0-based, as `inspect` numbers them)'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --tar 'Write one flat tar (no whiteouts) instead of a directory'
            cand --force 'Extract even if DEST exists and is not empty (its entries in the image''s way are replaced)'
            cand --json 'Print a JSON summary'
            cand --no-devices 'Leave character and block device nodes out (one warning, with their count)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;mount'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --layer 'Mount only layers 0..=N'
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --read-only 'No upper dir: the mount cannot be written'
            cand --suid 'Let the image''s setuid/setgid files and file capabilities take effect (the mount is `nosuid` by default). Risky: anyone who can reach the mountpoint can run an image''s setuid-root program as root'
            cand --dev 'Let the image''s device nodes work (the mount is `nodev` by default). Risky: a device node of the image opens the host''s device with the node''s permissions'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;umount'= {
            cand --store 'The layer store the mount was made from (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --keep-upper 'Keep the upper dir (what was written in the mount) instead of removing it'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;store'= {
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand ls 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
            cand rm 'Remove layers that no mount uses, or kept upper dirs'
            cand prune 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;store;ls'= {
            cand --format 'Print a Go-style template of each entry''s JSON instead, one line each: `{{.chain_id}} {{.size}}`, …'
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print a JSON array (the stable contract): the layers (`\"kind\": \"layer\"`), then the kept upper dirs (`\"kind\": \"kept\"`)'
            cand --no-trunc 'Show full chainIDs and diffIDs instead of their first 12 hex digits'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;store;rm'= {
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;store;prune'= {
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;store;help'= {
            cand ls 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
            cand rm 'Remove layers that no mount uses, or kept upper dirs'
            cand prune 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;store;help;ls'= {
        }
        &'strata;store;help;rm'= {
        }
        &'strata;store;help;prune'= {
        }
        &'strata;store;help;help'= {
        }
        &'strata;storage'= {
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand check 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
            cand df 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;storage;check'= {
            cand --docker-root 'The Docker data root (default /var/lib/docker; read-only, links not followed)'
            cand --storage-root 'The containers-storage root (default /var/lib/containers/storage; read-only)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print a JSON object (the stable contract): counts and each finding''s kind, path, detail and, for leftovers, size'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;storage;df'= {
            cand --docker-root 'The Docker data root (default /var/lib/docker; read-only, links not followed)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -v 'Print `docker system df -v`''s tables instead of the totals: images, containers, local volumes and build cache records'
            cand --verbose 'Print `docker system df -v`''s tables instead of the totals: images, containers, local volumes and build cache records'
            cand --json 'Print a JSON object with every size in bytes'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;storage;help'= {
            cand check 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
            cand df 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;storage;help;check'= {
        }
        &'strata;storage;help;df'= {
        }
        &'strata;storage;help;help'= {
        }
        &'strata;ls'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --layer 'The tree as of layer N (0-based, as `inspect` numbers them; default: the top)'
            cand --depth 'With --tree: only D levels below each PATH'
            cand --sort 'Order by path (default) or by size, largest first (directories by their total)'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -l 'Long listing: type and mode, owner, size, layer, link target'
            cand --long 'Long listing: type and mode, owner, size, layer, link target'
            cand -H 'Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes'
            cand --human 'Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes'
            cand --tree 'Draw the hierarchy, with the total size of each directory'
            cand --json 'Print a JSON array: [{"path", "type", "size", "mode", "uid", "gid", "link", "layer"}]'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;diff'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --other-image 'The second image: inside OTHER, or (without OTHER) inside IMAGE'
            cand --other-platform 'The second image''s platform, from a multi-platform index'
            cand --layer 'Only the changes of layer N'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --bytes 'Sizes in bytes instead of kB, MB, GB'
            cand --json 'Print JSON: [{"layer", "changes": [...]}], or {"added", "removed", "changed"} for two images'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;cat'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --layer 'The file as of layer N (default: the top)'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;waste'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --ci-config 'dive''s CI file (YAML with `rules:`). Default: `.dive-ci` in the current directory, if any'
            cand --lowest-efficiency 'Fail below this efficiency (0-1; `disabled` skips the rule). Default 0.9'
            cand --highest-wasted-bytes 'Fail above this many wasted bytes (`20MB`, `19Mb`, `1GiB`; dive''s units). Default: disabled'
            cand --highest-user-wasted-percent 'Fail above this ratio of wasted bytes to bytes above the first layer (0-1). Default 0.1'
            cand --top 'How many of the largest hidden files the text output lists'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --json 'Print one JSON object (the stable contract) instead of text'
            cand --ci 'Evaluate dive''s CI rules; exit 1 when one fails, 2 when one is misconfigured'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;shell'= {
            cand --docker-root 'The Docker data root `docker-root:REF` reads (read-only, links not followed)'
            cand --storage-root 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)'
            cand --image 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)'
            cand --platform 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)'
            cand --layer 'Only layers 0..=N'
            cand --store 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)'
            cand --max-layers 'Refuse an image with more than N layers (500 is overlayfs'' own limit)'
            cand --max-files 'Refuse an image with more than N tar entries, all layers together'
            cand --max-size 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --host-root 'Today''s older behaviour: keep the host''s `/` and run the host''s $SHELL (or CMD) with the image''s merged tree as the working directory ($STRATA_ROOT names it). The image''s Env, WorkingDir and User do not apply, and the host (and the store) stay visible'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;__enter'= {
            cand --lower 'lower'
            cand --upper 'upper'
            cand --work 'work'
            cand --merged 'merged'
            cand --spec 'What to run and how, as JSON (`cmd::shell::Spec`)'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;__init'= {
            cand --spec 'spec'
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --rootless 'The session runs in a user namespace where only uid 0 is mapped'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;completions'= {
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;man'= {
            cand --color 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`'
            cand --list 'List the commands that have a page, one per line, instead'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'strata;help'= {
            cand inspect 'Show the image''s metadata and every layer: digests, compression, sizes, diffID, chainID'
            cand images 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root''s as `docker images` does'
            cand history 'Show the image''s build history, like `docker history`'
            cand chainid 'Compute chainIDs from diffIDs (arguments, stdin, or an image''s config)'
            cand verify 'Recompute every digest, size and diffID from the bytes and compare with manifest and config'
            cand extract 'Write the merged root filesystem (all layers applied in order) to a directory or a tar'
            cand mount 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir'
            cand umount 'Unmount what `strata mount` mounted and remove its upper and work dirs'
            cand store 'Look after the layer store: list layers, remove them, prune unused ones'
            cand storage 'Check where images live: a Docker data root''s records against its files, and leftovers'
            cand ls 'List the merged tree (as of layer N) with the layer each path comes from'
            cand diff 'Show what each layer added, modified and deleted, or compare two images by content'
            cand cat 'Print one file of the image (as of layer N); symlinks are resolved inside the image'
            cand waste 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive''s rules'
            cand shell 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace'
            cand __enter '(internal) The namespace side of `shell`: runs in a fresh single-threaded process'
            cand __init '(internal) pid 1 of a `shell` session: enters the image''s root and runs the command'
            cand completions 'Print a shell completion script generated from these definitions'
            cand man 'Print the man page (roff) of strata or of one of its commands'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'strata;help;inspect'= {
        }
        &'strata;help;images'= {
        }
        &'strata;help;history'= {
        }
        &'strata;help;chainid'= {
        }
        &'strata;help;verify'= {
        }
        &'strata;help;extract'= {
        }
        &'strata;help;mount'= {
        }
        &'strata;help;umount'= {
        }
        &'strata;help;store'= {
            cand ls 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
            cand rm 'Remove layers that no mount uses, or kept upper dirs'
            cand prune 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
        }
        &'strata;help;store;ls'= {
        }
        &'strata;help;store;rm'= {
        }
        &'strata;help;store;prune'= {
        }
        &'strata;help;storage'= {
            cand check 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
            cand df 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
        }
        &'strata;help;storage;check'= {
        }
        &'strata;help;storage;df'= {
        }
        &'strata;help;ls'= {
        }
        &'strata;help;diff'= {
        }
        &'strata;help;cat'= {
        }
        &'strata;help;waste'= {
        }
        &'strata;help;shell'= {
        }
        &'strata;help;__enter'= {
        }
        &'strata;help;__init'= {
        }
        &'strata;help;completions'= {
        }
        &'strata;help;man'= {
        }
        &'strata;help;help'= {
        }
    ]
    $completions[$command]
}
