
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'strata' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'strata'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'strata' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show the image''s metadata and every layer: digests, compression, sizes, diffID, chainID')
            [CompletionResult]::new('images', 'images', [CompletionResultType]::ParameterValue, 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root''s as `docker images` does')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the image''s build history, like `docker history`')
            [CompletionResult]::new('chainid', 'chainid', [CompletionResultType]::ParameterValue, 'Compute chainIDs from diffIDs (arguments, stdin, or an image''s config)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Recompute every digest, size and diffID from the bytes and compare with manifest and config')
            [CompletionResult]::new('extract', 'extract', [CompletionResultType]::ParameterValue, 'Write the merged root filesystem (all layers applied in order) to a directory or a tar')
            [CompletionResult]::new('mount', 'mount', [CompletionResultType]::ParameterValue, 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir')
            [CompletionResult]::new('umount', 'umount', [CompletionResultType]::ParameterValue, 'Unmount what `strata mount` mounted and remove its upper and work dirs')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Look after the layer store: list layers, remove them, prune unused ones')
            [CompletionResult]::new('storage', 'storage', [CompletionResultType]::ParameterValue, 'Check where images live: a Docker data root''s records against its files, and leftovers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the merged tree (as of layer N) with the layer each path comes from')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what each layer added, modified and deleted, or compare two images by content')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Print one file of the image (as of layer N); symlinks are resolved inside the image')
            [CompletionResult]::new('waste', 'waste', [CompletionResultType]::ParameterValue, 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive''s rules')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace')
            [CompletionResult]::new('__enter', '__enter', [CompletionResultType]::ParameterValue, '(internal) The namespace side of `shell`: runs in a fresh single-threaded process')
            [CompletionResult]::new('__init', '__init', [CompletionResultType]::ParameterValue, '(internal) pid 1 of a `shell` session: enters the image''s root and runs the command')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script generated from these definitions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) of strata or of one of its commands')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;inspect' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print a Go-style template of the JSON instead: `{{.image.id}}`, `{{json .layers}}`, …')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (the stable contract) instead of tables')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Show full digests instead of shortened ones, and keep every column on a narrow terminal (the table is fitted to its width, or to $COLUMNS, otherwise)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;images' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'With `docker-root:`: the Docker data root (default /var/lib/docker)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'With `containers-storage:`: podman''s storage root (default /var/lib/containers/storage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array (the stable contract) instead of a table')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Show full digests instead of shortened ones')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;history' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw)')
            [CompletionResult]::new('--human', '--human', [CompletionResultType]::ParameterName, 'Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, '`table` (default), `json` (docker''s: one object per line), or a Go-template-like string with {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}')
            [CompletionResult]::new('--image-store', '--image-store', [CompletionResultType]::ParameterName, 'Which Docker image store to print as. `classic` (docker''s graphdriver store, the default before Docker 29): image IDs are config digests, sizes the unpacked bytes. `containerd` (the containerd image store, the default of fresh Docker 29 installs): the top row''s ID is what `docker load` makes the image''s target (the manifest, the multi-platform index above it, or for a legacy docker save the manifest the loader writes), no parent IDs, and sizes are disk usage in 4 KiB blocks as on ext4 (directories included), which is what that store measures on most hosts. A pre-1.10 docker save, which that store does not load, is refused')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Don''t truncate output')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only show image IDs')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only show image IDs')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print strata''s own JSON: the `history` rows of `inspect --json`, raw values')
            [CompletionResult]::new('--all-layers', '--all-layers', [CompletionResultType]::ParameterName, 'Also show a row for each layer that no history step describes (the config lists fewer non-empty steps than layers). Docker shows only the steps')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;chainid' {
            [CompletionResult]::new('--archive', '--archive', [CompletionResultType]::ParameterName, 'Print the chain of this image archive''s config (`rootfs.diff_ids`) instead: a docker-save tar, an OCI layout dir or tar, optionally .gz/.zst; `-` for stdin')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'With --archive: which image of several, as everywhere else (a tag, a digest, `#N`)')
            [CompletionResult]::new('--ref', '--ref', [CompletionResultType]::ParameterName, 'With --archive: which image of several, as everywhere else (a tag, a digest, `#N`)')
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'With --archive docker-root:REF: the Docker data root (default /var/lib/docker)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'With --archive: os/arch[/variant] from a multi-platform index')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON: [{"index", "diff_id", "chain_id"}]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;verify' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--expect-chainid', '--expect-chainid', [CompletionResultType]::ParameterName, 'Also require the top layer''s chainID to be this one')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print a Go-style template of each check''s JSON instead, one line per check: `{{.what}} {{.ok}} {{.found}}`, …')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print {"ok", "checks": [...]} instead of one line per check')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Keep full digests and names on a terminal too narrow for them (lines are shortened to the terminal''s width, or to $COLUMNS, otherwise)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;extract' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'Stop after layer N (0-based, as `inspect` numbers them)')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--tar', '--tar', [CompletionResultType]::ParameterName, 'Write one flat tar (no whiteouts) instead of a directory')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Extract even if DEST exists and is not empty (its entries in the image''s way are replaced)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON summary')
            [CompletionResult]::new('--no-devices', '--no-devices', [CompletionResultType]::ParameterName, 'Leave character and block device nodes out (one warning, with their count)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;mount' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'Mount only layers 0..=N')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--read-only', '--read-only', [CompletionResultType]::ParameterName, 'No upper dir: the mount cannot be written')
            [CompletionResult]::new('--suid', '--suid', [CompletionResultType]::ParameterName, 'Let the image''s setuid/setgid files and file capabilities take effect (the mount is `nosuid` by default). Risky: anyone who can reach the mountpoint can run an image''s setuid-root program as root')
            [CompletionResult]::new('--dev', '--dev', [CompletionResultType]::ParameterName, 'Let the image''s device nodes work (the mount is `nodev` by default). Risky: a device node of the image opens the host''s device with the node''s permissions')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;umount' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store the mount was made from (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--keep-upper', '--keep-upper', [CompletionResultType]::ParameterName, 'Keep the upper dir (what was written in the mount) instead of removing it')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;store' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove layers that no mount uses, or kept upper dirs')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;store;ls' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Print a Go-style template of each entry''s JSON instead, one line each: `{{.chain_id}} {{.size}}`, …')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array (the stable contract): the layers (`\"kind\": \"layer\"`), then the kept upper dirs (`\"kind\": \"kept\"`)')
            [CompletionResult]::new('--no-trunc', '--no-trunc', [CompletionResultType]::ParameterName, 'Show full chainIDs and diffIDs instead of their first 12 hex digits')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;store;rm' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;store;prune' {
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;store;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove layers that no mount uses, or kept upper dirs')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;store;help;ls' {
            break
        }
        'strata;store;help;rm' {
            break
        }
        'strata;store;help;prune' {
            break
        }
        'strata;store;help;help' {
            break
        }
        'strata;storage' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses')
            [CompletionResult]::new('df', 'df', [CompletionResultType]::ParameterValue, 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;storage;check' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root (default /var/lib/docker; read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root (default /var/lib/containers/storage; read-only)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON object (the stable contract): counts and each finding''s kind, path, detail and, for leftovers, size')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;storage;df' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root (default /var/lib/docker; read-only, links not followed)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print `docker system df -v`''s tables instead of the totals: images, containers, local volumes and build cache records')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print `docker system df -v`''s tables instead of the totals: images, containers, local volumes and build cache records')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON object with every size in bytes')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;storage;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses')
            [CompletionResult]::new('df', 'df', [CompletionResultType]::ParameterValue, 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;storage;help;check' {
            break
        }
        'strata;storage;help;df' {
            break
        }
        'strata;storage;help;help' {
            break
        }
        'strata;ls' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'The tree as of layer N (0-based, as `inspect` numbers them; default: the top)')
            [CompletionResult]::new('--depth', '--depth', [CompletionResultType]::ParameterName, 'With --tree: only D levels below each PATH')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Order by path (default) or by size, largest first (directories by their total)')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Long listing: type and mode, owner, size, layer, link target')
            [CompletionResult]::new('--long', '--long', [CompletionResultType]::ParameterName, 'Long listing: type and mode, owner, size, layer, link target')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes')
            [CompletionResult]::new('--human', '--human', [CompletionResultType]::ParameterName, 'Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes')
            [CompletionResult]::new('--tree', '--tree', [CompletionResultType]::ParameterName, 'Draw the hierarchy, with the total size of each directory')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print a JSON array: [{"path", "type", "size", "mode", "uid", "gid", "link", "layer"}]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;diff' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--other-image', '--other-image', [CompletionResultType]::ParameterName, 'The second image: inside OTHER, or (without OTHER) inside IMAGE')
            [CompletionResult]::new('--other-platform', '--other-platform', [CompletionResultType]::ParameterName, 'The second image''s platform, from a multi-platform index')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'Only the changes of layer N')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--bytes', '--bytes', [CompletionResultType]::ParameterName, 'Sizes in bytes instead of kB, MB, GB')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON: [{"layer", "changes": [...]}], or {"added", "removed", "changed"} for two images')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;cat' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'The file as of layer N (default: the top)')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;waste' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--ci-config', '--ci-config', [CompletionResultType]::ParameterName, 'dive''s CI file (YAML with `rules:`). Default: `.dive-ci` in the current directory, if any')
            [CompletionResult]::new('--lowest-efficiency', '--lowest-efficiency', [CompletionResultType]::ParameterName, 'Fail below this efficiency (0-1; `disabled` skips the rule). Default 0.9')
            [CompletionResult]::new('--highest-wasted-bytes', '--highest-wasted-bytes', [CompletionResultType]::ParameterName, 'Fail above this many wasted bytes (`20MB`, `19Mb`, `1GiB`; dive''s units). Default: disabled')
            [CompletionResult]::new('--highest-user-wasted-percent', '--highest-user-wasted-percent', [CompletionResultType]::ParameterName, 'Fail above this ratio of wasted bytes to bytes above the first layer (0-1). Default 0.1')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'How many of the largest hidden files the text output lists')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (the stable contract) instead of text')
            [CompletionResult]::new('--ci', '--ci', [CompletionResultType]::ParameterName, 'Evaluate dive''s CI rules; exit 1 when one fails, 2 when one is misconfigured')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;shell' {
            [CompletionResult]::new('--docker-root', '--docker-root', [CompletionResultType]::ParameterName, 'The Docker data root `docker-root:REF` reads (read-only, links not followed)')
            [CompletionResult]::new('--storage-root', '--storage-root', [CompletionResultType]::ParameterName, 'The containers-storage root `containers-storage:REF` reads (podman''s, default /var/lib/containers/storage; read-only, links not followed)')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Pick from a multi-platform index: os/arch[/variant] (default: this host''s)')
            [CompletionResult]::new('--layer', '--layer', [CompletionResultType]::ParameterName, 'Only layers 0..=N')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)')
            [CompletionResult]::new('--max-layers', '--max-layers', [CompletionResultType]::ParameterName, 'Refuse an image with more than N layers (500 is overlayfs'' own limit)')
            [CompletionResult]::new('--max-files', '--max-files', [CompletionResultType]::ParameterName, 'Refuse an image with more than N tar entries, all layers together')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem''s free space')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Today''s older behaviour: keep the host''s `/` and run the host''s $SHELL (or CMD) with the image''s merged tree as the working directory ($STRATA_ROOT names it). The image''s Env, WorkingDir and User do not apply, and the host (and the store) stay visible')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;__enter' {
            [CompletionResult]::new('--lower', '--lower', [CompletionResultType]::ParameterName, 'lower')
            [CompletionResult]::new('--upper', '--upper', [CompletionResultType]::ParameterName, 'upper')
            [CompletionResult]::new('--work', '--work', [CompletionResultType]::ParameterName, 'work')
            [CompletionResult]::new('--merged', '--merged', [CompletionResultType]::ParameterName, 'merged')
            [CompletionResult]::new('--spec', '--spec', [CompletionResultType]::ParameterName, 'What to run and how, as JSON (`cmd::shell::Spec`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;__init' {
            [CompletionResult]::new('--spec', '--spec', [CompletionResultType]::ParameterName, 'spec')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--rootless', '--rootless', [CompletionResultType]::ParameterName, 'The session runs in a user namespace where only uid 0 is mapped')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;completions' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;man' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the commands that have a page, one per line, instead')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'strata;help' {
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show the image''s metadata and every layer: digests, compression, sizes, diffID, chainID')
            [CompletionResult]::new('images', 'images', [CompletionResultType]::ParameterValue, 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root''s as `docker images` does')
            [CompletionResult]::new('history', 'history', [CompletionResultType]::ParameterValue, 'Show the image''s build history, like `docker history`')
            [CompletionResult]::new('chainid', 'chainid', [CompletionResultType]::ParameterValue, 'Compute chainIDs from diffIDs (arguments, stdin, or an image''s config)')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Recompute every digest, size and diffID from the bytes and compare with manifest and config')
            [CompletionResult]::new('extract', 'extract', [CompletionResultType]::ParameterValue, 'Write the merged root filesystem (all layers applied in order) to a directory or a tar')
            [CompletionResult]::new('mount', 'mount', [CompletionResultType]::ParameterValue, 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir')
            [CompletionResult]::new('umount', 'umount', [CompletionResultType]::ParameterValue, 'Unmount what `strata mount` mounted and remove its upper and work dirs')
            [CompletionResult]::new('store', 'store', [CompletionResultType]::ParameterValue, 'Look after the layer store: list layers, remove them, prune unused ones')
            [CompletionResult]::new('storage', 'storage', [CompletionResultType]::ParameterValue, 'Check where images live: a Docker data root''s records against its files, and leftovers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the merged tree (as of layer N) with the layer each path comes from')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'Show what each layer added, modified and deleted, or compare two images by content')
            [CompletionResult]::new('cat', 'cat', [CompletionResultType]::ParameterValue, 'Print one file of the image (as of layer N); symlinks are resolved inside the image')
            [CompletionResult]::new('waste', 'waste', [CompletionResultType]::ParameterValue, 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive''s rules')
            [CompletionResult]::new('shell', 'shell', [CompletionResultType]::ParameterValue, 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace')
            [CompletionResult]::new('__enter', '__enter', [CompletionResultType]::ParameterValue, '(internal) The namespace side of `shell`: runs in a fresh single-threaded process')
            [CompletionResult]::new('__init', '__init', [CompletionResultType]::ParameterValue, '(internal) pid 1 of a `shell` session: enters the image''s root and runs the command')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script generated from these definitions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) of strata or of one of its commands')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'strata;help;inspect' {
            break
        }
        'strata;help;images' {
            break
        }
        'strata;help;history' {
            break
        }
        'strata;help;chainid' {
            break
        }
        'strata;help;verify' {
            break
        }
        'strata;help;extract' {
            break
        }
        'strata;help;mount' {
            break
        }
        'strata;help;umount' {
            break
        }
        'strata;help;store' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Remove layers that no mount uses, or kept upper dirs')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left')
            break
        }
        'strata;help;store;ls' {
            break
        }
        'strata;help;store;rm' {
            break
        }
        'strata;help;store;prune' {
            break
        }
        'strata;help;storage' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Is this data root what it claims? Every layer''s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses')
            [CompletionResult]::new('df', 'df', [CompletionResultType]::ParameterValue, 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)')
            break
        }
        'strata;help;storage;check' {
            break
        }
        'strata;help;storage;df' {
            break
        }
        'strata;help;ls' {
            break
        }
        'strata;help;diff' {
            break
        }
        'strata;help;cat' {
            break
        }
        'strata;help;waste' {
            break
        }
        'strata;help;shell' {
            break
        }
        'strata;help;__enter' {
            break
        }
        'strata;help;__init' {
            break
        }
        'strata;help;completions' {
            break
        }
        'strata;help;man' {
            break
        }
        'strata;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
