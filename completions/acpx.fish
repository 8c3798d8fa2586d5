# fish completion for acpx. Install: copy to a directory of
# $fish_complete_path (make install uses $(datadir)/fish/vendor_completions.d),
# or run `acpx completion fish | source`.
#
# The candidates come from `acpx __complete --describe -- WORDS... CURRENT`,
# which walks the command line through acpx's own command and option tables
# and reads live session names from ~/.acpx/sessions (after --node NAME,
# from that node: its own __complete, over the shared ssh connection, for
# at most 3 seconds). Its first output line is a directive: :words (then
# "value<TAB>description" lines), :files, :dirs or :none.

function __acpx_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l prog $tokens[1]
    set -e tokens[1]
    string match -q '~/*' -- $prog; and set prog $HOME/(string sub -s 3 -- $prog)
    set -l lines ($prog __complete --describe -- $tokens $current 2>/dev/null)
    switch "$lines[1]"
        case :files
            __fish_complete_path $current
        case :dirs
            __fish_complete_directories $current
        case :words
            set -e lines[1]
            for line in $lines
                printf '%s\n' $line
            end
    end
end

complete -c acpx -f -a '(__acpx_complete)'
