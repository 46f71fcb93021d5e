# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright (C) 2026 The stickysync authors
# bash completion for stickysync(1); needs bash-completion.  Installed as
# share/bash-completion/completions/stickysync, where bash-completion loads
# it the first time stickysync is completed.
# shellcheck disable=SC2207 # compgen's words here never contain blanks

# The index of CMD in `stickysync run [OPTION]... [--] CMD`, or 0 while the
# options are still being typed.
_stickysync_run_cmd_index()
{
    local i
    for ((i = 2; i < cword; i++)); do
        case ${words[i]} in
            --) echo $((i + 1)); return ;;
            --policy | --log | --state | --inject | --library) ((i++)) ;;
            -*) ;;
            *) echo "$i"; return ;;
        esac
    done
    echo 0
}

_stickysync()
{
    local cur prev words cword split
    _init_completion -s || return

    local sub=${words[1]-}
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W 'run status ack prune --help --version' -- "$cur"))
        return
    fi

    # after CMD, the words are CMD's
    local cmd=0
    [[ $sub == run ]] && cmd=$(_stickysync_run_cmd_index)
    if ((cmd > 0)); then
        _command_offset "$cmd"
        return
    fi

    case $prev in
        --policy)
            COMPREPLY=($(compgen -W 'sticky failstop abort observe' -- "$cur"))
            return ;;
        --log)
            COMPREPLY=($(compgen -W 'stderr syslog off' -- "$cur"))
            _filedir
            return ;;
        --state)
            [[ $sub == run ]] && COMPREPLY=($(compgen -W 'off' -- "$cur"))
            _filedir -d
            return ;;
        --library)
            _filedir so
            return ;;
        --inject)
            # the start of a rule; the rest is free text (libstickysync(7))
            COMPREPLY=($(compgen -P op= -W 'fsync fdatasync sync_file_range msync syncfs
                close write sync' -- "${cur#op=}"))
            compopt -o nospace
            return ;;
    esac
    $split && return

    case $sub in
        run)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W '--policy --log --state --inject --fail-on-latch
                    --library --dry-run --supervise --no-supervise --deny-io-uring --help --' \
                    -- "$cur"))
            else
                _command_offset "$cword"
            fi ;;
        status)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W '--state --json --all --help' -- "$cur"))
            else
                _filedir
            fi ;;
        ack)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W '--state --all --help' -- "$cur"))
            else
                _filedir
            fi ;;
        prune)
            COMPREPLY=($(compgen -W '--state --active --help' -- "$cur")) ;;
    esac
} &&
    complete -F _stickysync stickysync

# ex: filetype=sh
