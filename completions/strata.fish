# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_strata_global_optspecs
    string join \n color= h/help V/version
end

function __fish_strata_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_strata_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_strata_using_subcommand
    set -l cmd (__fish_strata_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c strata -n "__fish_strata_needs_command" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c strata -n "__fish_strata_needs_command" -s V -l version -d 'Print version'
complete -c strata -n "__fish_strata_needs_command" -f -a "inspect" -d 'Show the image\'s metadata and every layer: digests, compression, sizes, diffID, chainID'
complete -c strata -n "__fish_strata_needs_command" -f -a "images" -d 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root\'s as `docker images` does'
complete -c strata -n "__fish_strata_needs_command" -f -a "history" -d 'Show the image\'s build history, like `docker history`'
complete -c strata -n "__fish_strata_needs_command" -f -a "chainid" -d 'Compute chainIDs from diffIDs (arguments, stdin, or an image\'s config)'
complete -c strata -n "__fish_strata_needs_command" -f -a "verify" -d 'Recompute every digest, size and diffID from the bytes and compare with manifest and config'
complete -c strata -n "__fish_strata_needs_command" -f -a "extract" -d 'Write the merged root filesystem (all layers applied in order) to a directory or a tar'
complete -c strata -n "__fish_strata_needs_command" -f -a "mount" -d 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir'
complete -c strata -n "__fish_strata_needs_command" -f -a "umount" -d 'Unmount what `strata mount` mounted and remove its upper and work dirs'
complete -c strata -n "__fish_strata_needs_command" -f -a "store" -d 'Look after the layer store: list layers, remove them, prune unused ones'
complete -c strata -n "__fish_strata_needs_command" -f -a "storage" -d 'Check where images live: a Docker data root\'s records against its files, and leftovers'
complete -c strata -n "__fish_strata_needs_command" -f -a "ls" -d 'List the merged tree (as of layer N) with the layer each path comes from'
complete -c strata -n "__fish_strata_needs_command" -f -a "diff" -d 'Show what each layer added, modified and deleted, or compare two images by content'
complete -c strata -n "__fish_strata_needs_command" -f -a "cat" -d 'Print one file of the image (as of layer N); symlinks are resolved inside the image'
complete -c strata -n "__fish_strata_needs_command" -f -a "waste" -d 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive\'s rules'
complete -c strata -n "__fish_strata_needs_command" -f -a "shell" -d 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace'
complete -c strata -n "__fish_strata_needs_command" -f -a "__enter" -d '(internal) The namespace side of `shell`: runs in a fresh single-threaded process'
complete -c strata -n "__fish_strata_needs_command" -f -a "__init" -d '(internal) pid 1 of a `shell` session: enters the image\'s root and runs the command'
complete -c strata -n "__fish_strata_needs_command" -f -a "completions" -d 'Print a shell completion script generated from these definitions'
complete -c strata -n "__fish_strata_needs_command" -f -a "man" -d 'Print the man page (roff) of strata or of one of its commands'
complete -c strata -n "__fish_strata_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand inspect" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand inspect" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand inspect" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand inspect" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand inspect" -l format -d 'Print a Go-style template of the JSON instead: `{{.image.id}}`, `{{json .layers}}`, …' -r
complete -c strata -n "__fish_strata_using_subcommand inspect" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand inspect" -l json -d 'Print one JSON object (the stable contract) instead of tables'
complete -c strata -n "__fish_strata_using_subcommand inspect" -l no-trunc -d 'Show full digests instead of shortened ones, and keep every column on a narrow terminal (the table is fitted to its width, or to $COLUMNS, otherwise)'
complete -c strata -n "__fish_strata_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand images" -l docker-root -d 'With `docker-root:`: the Docker data root (default /var/lib/docker)' -r -F
complete -c strata -n "__fish_strata_using_subcommand images" -l storage-root -d 'With `containers-storage:`: podman\'s storage root (default /var/lib/containers/storage)' -r -F
complete -c strata -n "__fish_strata_using_subcommand images" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand images" -l json -d 'Print a JSON array (the stable contract) instead of a table'
complete -c strata -n "__fish_strata_using_subcommand images" -l no-trunc -d 'Show full digests instead of shortened ones'
complete -c strata -n "__fish_strata_using_subcommand images" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand history" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand history" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand history" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand history" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand history" -s H -l human -d 'Print sizes and dates in human readable format (`-H=false` or `--human=false`: raw)' -r -f -a "true\t''
false\t''"
complete -c strata -n "__fish_strata_using_subcommand history" -l format -d '`table` (default), `json` (docker\'s: one object per line), or a Go-template-like string with {{.ID}} {{.CreatedSince}} {{.CreatedAt}} {{.CreatedBy}} {{.Size}} {{.Comment}}' -r
complete -c strata -n "__fish_strata_using_subcommand history" -l image-store -d 'Which Docker image store to print as. `classic` (docker\'s graphdriver store, the default before Docker 29): image IDs are config digests, sizes the unpacked bytes. `containerd` (the containerd image store, the default of fresh Docker 29 installs): the top row\'s ID is what `docker load` makes the image\'s target (the manifest, the multi-platform index above it, or for a legacy docker save the manifest the loader writes), no parent IDs, and sizes are disk usage in 4 KiB blocks as on ext4 (directories included), which is what that store measures on most hosts. A pre-1.10 docker save, which that store does not load, is refused' -r -f -a "classic\t''
containerd\t''"
complete -c strata -n "__fish_strata_using_subcommand history" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand history" -l no-trunc -d 'Don\'t truncate output'
complete -c strata -n "__fish_strata_using_subcommand history" -s q -l quiet -d 'Only show image IDs'
complete -c strata -n "__fish_strata_using_subcommand history" -l json -d 'Print strata\'s own JSON: the `history` rows of `inspect --json`, raw values'
complete -c strata -n "__fish_strata_using_subcommand history" -l all-layers -d 'Also show a row for each layer that no history step describes (the config lists fewer non-empty steps than layers). Docker shows only the steps'
complete -c strata -n "__fish_strata_using_subcommand history" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand chainid" -l archive -d 'Print the chain of this image archive\'s config (`rootfs.diff_ids`) instead: a docker-save tar, an OCI layout dir or tar, optionally .gz/.zst; `-` for stdin' -r -F
complete -c strata -n "__fish_strata_using_subcommand chainid" -l image -l ref -d 'With --archive: which image of several, as everywhere else (a tag, a digest, `#N`)' -r
complete -c strata -n "__fish_strata_using_subcommand chainid" -l docker-root -d 'With --archive docker-root:REF: the Docker data root (default /var/lib/docker)' -r -F
complete -c strata -n "__fish_strata_using_subcommand chainid" -l platform -d 'With --archive: os/arch[/variant] from a multi-platform index' -r
complete -c strata -n "__fish_strata_using_subcommand chainid" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand chainid" -l json -d 'Print JSON: [{"index", "diff_id", "chain_id"}]'
complete -c strata -n "__fish_strata_using_subcommand chainid" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand verify" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand verify" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand verify" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand verify" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand verify" -l expect-chainid -d 'Also require the top layer\'s chainID to be this one' -r
complete -c strata -n "__fish_strata_using_subcommand verify" -l format -d 'Print a Go-style template of each check\'s JSON instead, one line per check: `{{.what}} {{.ok}} {{.found}}`, …' -r
complete -c strata -n "__fish_strata_using_subcommand verify" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand verify" -l json -d 'Print {"ok", "checks": [...]} instead of one line per check'
complete -c strata -n "__fish_strata_using_subcommand verify" -l no-trunc -d 'Keep full digests and names on a terminal too narrow for them (lines are shortened to the terminal\'s width, or to $COLUMNS, otherwise)'
complete -c strata -n "__fish_strata_using_subcommand verify" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand extract" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand extract" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand extract" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l layer -d 'Stop after layer N (0-based, as `inspect` numbers them)' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand extract" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand extract" -l tar -d 'Write one flat tar (no whiteouts) instead of a directory'
complete -c strata -n "__fish_strata_using_subcommand extract" -l force -d 'Extract even if DEST exists and is not empty (its entries in the image\'s way are replaced)'
complete -c strata -n "__fish_strata_using_subcommand extract" -l json -d 'Print a JSON summary'
complete -c strata -n "__fish_strata_using_subcommand extract" -l no-devices -d 'Leave character and block device nodes out (one warning, with their count)'
complete -c strata -n "__fish_strata_using_subcommand extract" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand mount" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l layer -d 'Mount only layers 0..=N' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand mount" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand mount" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand mount" -l read-only -d 'No upper dir: the mount cannot be written'
complete -c strata -n "__fish_strata_using_subcommand mount" -l suid -d 'Let the image\'s setuid/setgid files and file capabilities take effect (the mount is `nosuid` by default). Risky: anyone who can reach the mountpoint can run an image\'s setuid-root program as root'
complete -c strata -n "__fish_strata_using_subcommand mount" -l dev -d 'Let the image\'s device nodes work (the mount is `nodev` by default). Risky: a device node of the image opens the host\'s device with the node\'s permissions'
complete -c strata -n "__fish_strata_using_subcommand mount" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand umount" -l store -d 'The layer store the mount was made from (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand umount" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand umount" -l keep-upper -d 'Keep the upper dir (what was written in the mount) instead of removing it'
complete -c strata -n "__fish_strata_using_subcommand umount" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -f -a "ls" -d 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -f -a "rm" -d 'Remove layers that no mount uses, or kept upper dirs'
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -f -a "prune" -d 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
complete -c strata -n "__fish_strata_using_subcommand store; and not __fish_seen_subcommand_from ls rm prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -l format -d 'Print a Go-style template of each entry\'s JSON instead, one line each: `{{.chain_id}} {{.size}}`, …' -r
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -l json -d 'Print a JSON array (the stable contract): the layers (`\\"kind\\": \\"layer\\"`), then the kept upper dirs (`\\"kind\\": \\"kept\\"`)'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -l no-trunc -d 'Show full chainIDs and diffIDs instead of their first 12 hex digits'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from rm" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from rm" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from prune" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from prune" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "rm" -d 'Remove layers that no mount uses, or kept upper dirs'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
complete -c strata -n "__fish_strata_using_subcommand store; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand storage; and not __fish_seen_subcommand_from check df help" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand storage; and not __fish_seen_subcommand_from check df help" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand storage; and not __fish_seen_subcommand_from check df help" -f -a "check" -d 'Is this data root what it claims? Every layer\'s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
complete -c strata -n "__fish_strata_using_subcommand storage; and not __fish_seen_subcommand_from check df help" -f -a "df" -d 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
complete -c strata -n "__fish_strata_using_subcommand storage; and not __fish_seen_subcommand_from check df help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from check" -l docker-root -d 'The Docker data root (default /var/lib/docker; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from check" -l storage-root -d 'The containers-storage root (default /var/lib/containers/storage; read-only)' -r -F
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from check" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from check" -l json -d 'Print a JSON object (the stable contract): counts and each finding\'s kind, path, detail and, for leftovers, size'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from df" -l docker-root -d 'The Docker data root (default /var/lib/docker; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from df" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from df" -s v -l verbose -d 'Print `docker system df -v`\'s tables instead of the totals: images, containers, local volumes and build cache records'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from df" -l json -d 'Print a JSON object with every size in bytes'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from df" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from help" -f -a "check" -d 'Is this data root what it claims? Every layer\'s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from help" -f -a "df" -d 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
complete -c strata -n "__fish_strata_using_subcommand storage; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand ls" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand ls" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l layer -d 'The tree as of layer N (0-based, as `inspect` numbers them; default: the top)' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l depth -d 'With --tree: only D levels below each PATH' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l sort -d 'Order by path (default) or by size, largest first (directories by their total)' -r -f -a "name\t''
size\t''"
complete -c strata -n "__fish_strata_using_subcommand ls" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand ls" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand ls" -s l -l long -d 'Long listing: type and mode, owner, size, layer, link target'
complete -c strata -n "__fish_strata_using_subcommand ls" -s H -l human -d 'Sizes in kB, MB, GB (powers of 1000, as docker prints them) instead of bytes'
complete -c strata -n "__fish_strata_using_subcommand ls" -l tree -d 'Draw the hierarchy, with the total size of each directory'
complete -c strata -n "__fish_strata_using_subcommand ls" -l json -d 'Print a JSON array: [{"path", "type", "size", "mode", "uid", "gid", "link", "layer"}]'
complete -c strata -n "__fish_strata_using_subcommand ls" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand diff" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand diff" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l other-image -d 'The second image: inside OTHER, or (without OTHER) inside IMAGE' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l other-platform -d 'The second image\'s platform, from a multi-platform index' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l layer -d 'Only the changes of layer N' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand diff" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand diff" -l bytes -d 'Sizes in bytes instead of kB, MB, GB'
complete -c strata -n "__fish_strata_using_subcommand diff" -l json -d 'Print JSON: [{"layer", "changes": [...]}], or {"added", "removed", "changed"} for two images'
complete -c strata -n "__fish_strata_using_subcommand diff" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand cat" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand cat" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand cat" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l layer -d 'The file as of layer N (default: the top)' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand cat" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand cat" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand waste" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand waste" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand waste" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l ci-config -d 'dive\'s CI file (YAML with `rules:`). Default: `.dive-ci` in the current directory, if any' -r -F
complete -c strata -n "__fish_strata_using_subcommand waste" -l lowest-efficiency -d 'Fail below this efficiency (0-1; `disabled` skips the rule). Default 0.9' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l highest-wasted-bytes -d 'Fail above this many wasted bytes (`20MB`, `19Mb`, `1GiB`; dive\'s units). Default: disabled' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l highest-user-wasted-percent -d 'Fail above this ratio of wasted bytes to bytes above the first layer (0-1). Default 0.1' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l top -d 'How many of the largest hidden files the text output lists' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand waste" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand waste" -l json -d 'Print one JSON object (the stable contract) instead of text'
complete -c strata -n "__fish_strata_using_subcommand waste" -l ci -d 'Evaluate dive\'s CI rules; exit 1 when one fails, 2 when one is misconfigured'
complete -c strata -n "__fish_strata_using_subcommand waste" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand shell" -l docker-root -d 'The Docker data root `docker-root:REF` reads (read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand shell" -l storage-root -d 'The containers-storage root `containers-storage:REF` reads (podman\'s, default /var/lib/containers/storage; read-only, links not followed)' -r -F
complete -c strata -n "__fish_strata_using_subcommand shell" -l image -d 'Pick one image of several: a tag (`name:tag`), `name@sha256:…`, a digest, or `#N` for the N-th (as `strata images` numbers them; a bare N works when no image is tagged N)' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l platform -d 'Pick from a multi-platform index: os/arch[/variant] (default: this host\'s)' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l layer -d 'Only layers 0..=N' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l store -d 'The layer store (default: $STRATA_STORE, /var/lib/strata as root, else ~/.local/share/strata)' -r -F
complete -c strata -n "__fish_strata_using_subcommand shell" -l max-layers -d 'Refuse an image with more than N layers (500 is overlayfs\' own limit)' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l max-files -d 'Refuse an image with more than N tar entries, all layers together' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l max-size -d 'Refuse an image with more than SIZE bytes of file content: written, for extract and mount; read, for ls, diff, cat and waste (suffixes K, M, G, T: powers of 1024). Default: no limit beyond keeping the filesystem\'s free space' -r
complete -c strata -n "__fish_strata_using_subcommand shell" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand shell" -l host-root -d 'Today\'s older behaviour: keep the host\'s `/` and run the host\'s $SHELL (or CMD) with the image\'s merged tree as the working directory ($STRATA_ROOT names it). The image\'s Env, WorkingDir and User do not apply, and the host (and the store) stay visible'
complete -c strata -n "__fish_strata_using_subcommand shell" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand __enter" -l lower -r -F
complete -c strata -n "__fish_strata_using_subcommand __enter" -l upper -r -F
complete -c strata -n "__fish_strata_using_subcommand __enter" -l work -r -F
complete -c strata -n "__fish_strata_using_subcommand __enter" -l merged -r -F
complete -c strata -n "__fish_strata_using_subcommand __enter" -l spec -d 'What to run and how, as JSON (`cmd::shell::Spec`)' -r
complete -c strata -n "__fish_strata_using_subcommand __enter" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand __enter" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand __init" -l spec -r
complete -c strata -n "__fish_strata_using_subcommand __init" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand __init" -l rootless -d 'The session runs in a user namespace where only uid 0 is mapped'
complete -c strata -n "__fish_strata_using_subcommand __init" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand completions" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand completions" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand man" -l color -d 'Colour: `auto` colours a terminal unless NO_COLOR is set; `always`; `never`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c strata -n "__fish_strata_using_subcommand man" -l list -d 'List the commands that have a page, one per line, instead'
complete -c strata -n "__fish_strata_using_subcommand man" -s h -l help -d 'Print help'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "inspect" -d 'Show the image\'s metadata and every layer: digests, compression, sizes, diffID, chainID'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "images" -d 'List the images an archive holds (number, tags, platform, digests, layers, size), or a Docker data root\'s as `docker images` does'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "history" -d 'Show the image\'s build history, like `docker history`'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "chainid" -d 'Compute chainIDs from diffIDs (arguments, stdin, or an image\'s config)'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "verify" -d 'Recompute every digest, size and diffID from the bytes and compare with manifest and config'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "extract" -d 'Write the merged root filesystem (all layers applied in order) to a directory or a tar'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "mount" -d 'Mount the image as a real overlayfs: layers from the layer store, plus an upper dir'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "umount" -d 'Unmount what `strata mount` mounted and remove its upper and work dirs'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "store" -d 'Look after the layer store: list layers, remove them, prune unused ones'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "storage" -d 'Check where images live: a Docker data root\'s records against its files, and leftovers'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "ls" -d 'List the merged tree (as of layer N) with the layer each path comes from'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "diff" -d 'Show what each layer added, modified and deleted, or compare two images by content'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "cat" -d 'Print one file of the image (as of layer N); symlinks are resolved inside the image'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "waste" -d 'Show the space the layers waste, as dive measures it (efficiency, wasted bytes, files), and what each layer ships that later layers shadow or delete; `--ci` applies dive\'s rules'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "shell" -d 'Run a shell (or CMD) inside the image: its root as `/`, with its Env, WorkingDir and User, in private mount and pid namespaces; works without root through a user namespace'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "__enter" -d '(internal) The namespace side of `shell`: runs in a fresh single-threaded process'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "__init" -d '(internal) pid 1 of a `shell` session: enters the image\'s root and runs the command'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "completions" -d 'Print a shell completion script generated from these definitions'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "man" -d 'Print the man page (roff) of strata or of one of its commands'
complete -c strata -n "__fish_strata_using_subcommand help; and not __fish_seen_subcommand_from inspect images history chainid verify extract mount umount store storage ls diff cat waste shell __enter __init completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "ls" -d 'List the layers in the store, their sizes and the mounts using them, and the upper dirs `umount --keep-upper` kept'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "rm" -d 'Remove layers that no mount uses, or kept upper dirs'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from store" -f -a "prune" -d 'Remove every layer that no mount uses, and what killed or unmounted-by-hand runs left'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from storage" -f -a "check" -d 'Is this data root what it claims? Every layer\'s records, links and files (rebuilt into the layer tar and hashed against its diffID), every image and tag, and what nothing uses'
complete -c strata -n "__fish_strata_using_subcommand help; and __fish_seen_subcommand_from storage" -f -a "df" -d 'Disk usage as `docker system df` shows it, computed offline: images, containers, local volumes and the build cache (-v: each one, as `docker system df -v` lists them)'
