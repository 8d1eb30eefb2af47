# shellcheck shell=bash
# Memory per idle established TCP socket at each count in MEM_CONNS
# (ustack-bench-mem: ustack's heap growth, two stacks on a pipe link,
# beside the kernel's slab growth over loopback in a fresh namespace).

for n in $MEM_CONNS; do
	declare -A mv=()
	for r in $(seq 1 "$REPEAT"); do
		# A run that failed (not every connection made) counts as "-".
		v=
		if timeout -k 5 120 "$BIN/ustack-bench-mem" --conns "$n" \
			>"$T_TMP/mem.json" 2>&1; then
			v=$(jget "$T_TMP/mem.json" bytes_per_socket)
		else
			say "ustack-bench-mem $n: $(tail -n 2 "$T_TMP/mem.json")"
		fi
		mv[u]+="$(or_dash "$v") "
		lns pm
		v=
		if timeout -k 5 120 ip netns exec "$L" "$BIN/ustack-bench-mem" \
			--kernel --conns "$n" >"$T_TMP/mem.json" 2>&1; then
			v=$(jget "$T_TMP/mem.json" bytes_per_socket)
		else
			say "ustack-bench-mem --kernel $n: $(tail -n 2 "$T_TMP/mem.json")"
		fi
		mv[k]+="$(or_dash "$v") "
		lns_del
	done
	record "mem_conn_$n" "memory per idle established socket, $n connections" \
		bytes lower "${mv[u]}" "${mv[k]}" \
		"both ends counted (2 x $n sockets); ustack: heap growth (mallinfo2); kernel: slab growth of TCP, sock_inode_cache, dentry, filp, bind buckets + TCP buffer pages"
done
