# bash completion for acpx                                 -*- shell-script -*-
#
# Install: copy to bash-completion's completions directory (make install
# does), or add `source <(acpx completion bash)` to ~/.bashrc.
#
# The candidates come from `acpx __complete -- WORDS... CURRENT`, which
# walks the command line through acpx's own command and option tables and
# reads live session names from ~/.acpx/sessions (after --node NAME, from
# that node: its own __complete, over the shared ssh connection, for at
# most 3 seconds). Its first output line is a directive: :words
# (candidates follow), :files, :dirs or :none.

_acpx()
{
    local prog=${COMP_WORDS[0]} pos=0 gap rest w i cword=-1
    local -a words=() lines=()
    COMPREPLY=()

    # Undo bash's split at '=' and ':' (COMP_WORDBREAKS), so that
    # "--format=js" and "name:with:colons" reach acpx as one word each.
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        rest=${COMP_LINE:pos}
        gap=${rest%%[![:space:]]*}
        pos=$((pos + ${#gap} + ${#w}))
        if ((i > 0 && ${#gap} == 0 && ${#words[@]} > 0)) &&
            [[ $w == [=:]* || ${words[${#words[@]}-1]} == *[=:] ]]; then
            words[${#words[@]}-1]+=$w
        else
            words+=("$w")
        fi
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    ((cword < 1)) && return 0
    local cur=${words[cword]}

    # Bash replaces only its own current word (nothing after a lone '='
    # or ':'); what came before it in the rejoined word is a prefix.
    local btext=${COMP_WORDS[COMP_CWORD]}
    [[ $btext == [=:] ]] && btext=""
    local prefix=${cur%"$btext"}

    [[ $prog == "~/"* ]] && prog=$HOME/${prog#"~/"}
    mapfile -t lines < <("$prog" __complete -- "${words[@]:1:cword}" 2>/dev/null)
    ((${#lines[@]} > 0)) || return 0

    local ucur=${cur#"$prefix"}
    ucur=${ucur//\\/}
    ucur=${ucur#[\"\']}
    case ${lines[0]} in
    :files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$ucur")
        ;;
    :dirs)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$ucur")
        ;;
    :words)
        local c q
        for c in "${lines[@]:1}"; do
            c=${c#"$prefix"}
            [[ $c == "$ucur"* ]] || continue
            printf -v q '%q' "$c"
            COMPREPLY+=("$q")
        done
        ;;
    esac
    return 0
}

complete -F _acpx acpx
