using System.Text;

namespace PgRouter.Pooling;

/// <summary>
/// Tells from a query's words whether it leaves session state behind, without parsing SQL and
/// without allocating: SET and RESET are recorded and replayed on whichever server the client gets
/// next; anything only the same server session can keep (LISTEN, WITH HOLD cursors, temporary
/// relations, SQL-level PREPARE, LOAD, session advisory locks) keeps the client on its server.
/// Every statement of a multi-statement query counts.
/// </summary>
internal static class StatementClassifier
{
    public static StatementKind Classify(ReadOnlySpan<byte> query, out string? reason)
    {
        reason = null;
        var tokens = new SqlTokenizer(query);
        var result = StatementKind.Ordinary;
        int statements = 0;
        bool setting = false;
        while (tokens.Position < query.Length)
        {
            var kind = ClassifyStatement(ref tokens, out string? why, out bool empty);
            statements += empty ? 0 : 1;
            if (kind == StatementKind.PinsSession)
            {
                reason = why;
                return kind;
            }
            setting |= kind is StatementKind.SessionSetting or StatementKind.ResetAll;
            result = kind > result ? kind : result;
        }
        // A SET among other statements cannot be replayed alone (it may be rolled back with them).
        return statements > 1 && setting
            ? Pins("SET inside a multi-statement query", out reason)
            : result;
    }

    /// <summary>One statement, up to its semicolon.</summary>
    private static StatementKind ClassifyStatement(ref SqlTokenizer tokens, out string? reason, out bool empty)
    {
        reason = null;
        empty = true;
        ReadOnlySpan<byte> first = default, second = default, previous = default;
        int words = 0;
        bool createHeader = true, temporary = false, holdCursor = false, advisoryLock = false, setConfig = false, to = false;
        while (tokens.Next(out var token, out var text))
        {
            if (token == SqlToken.Semicolon)
            {
                break;
            }
            empty = false;
            if (token != SqlToken.Word)
            {
                // pg_temp.name is a temporary relation whatever the statement.
                temporary |= token == SqlToken.Dot && Is(previous, "pg_temp"u8);
                previous = default;
                continue;
            }
            words++;
            if (words == 1)
            {
                first = text;
            }
            else if (words == 2)
            {
                second = text;
            }
            if (words > 1 && createHeader && Is(first, "CREATE"u8))
            {
                // CREATE [OR REPLACE] [GLOBAL | LOCAL] TEMP | TEMPORARY [UNLOGGED] TABLE | VIEW | SEQUENCE …
                temporary |= IsTemp(text);
                createHeader = IsTemp(text) || Is(text, "OR"u8) || Is(text, "REPLACE"u8) || Is(text, "GLOBAL"u8) || Is(text, "LOCAL"u8) || Is(text, "UNLOGGED"u8);
            }
            temporary |= Is(previous, "INTO"u8) && IsTemp(text);
            holdCursor |= Is(previous, "WITH"u8) && Is(text, "HOLD"u8);
            advisoryLock |= StartsWith(text, "pg_advisory_lock"u8) || StartsWith(text, "pg_try_advisory_lock"u8);
            setConfig |= Is(text, "set_config"u8);
            // ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name
            to |= words is 2 or 3 && Is(text, "TO"u8);
            previous = text;
        }

        if (Is(first, "SET"u8))
        {
            return Is(second, "LOCAL"u8) || Is(second, "TRANSACTION"u8) || Is(second, "CONSTRAINTS"u8) ? StatementKind.Ordinary : StatementKind.SessionSetting;
        }
        if (Is(first, "RESET"u8))
        {
            return Is(second, "ALL"u8) ? StatementKind.ResetAll : StatementKind.SessionSetting;
        }
        if (Is(first, "DISCARD"u8))
        {
            return Is(second, "ALL"u8) ? StatementKind.ResetAll : StatementKind.Ordinary;
        }
        if (Is(first, "SAVEPOINT"u8) || Is(first, "RELEASE"u8) || Is(first, "ROLLBACK"u8) && to)
        {
            return StatementKind.Savepoint;
        }
        if (Is(first, "LISTEN"u8) || Is(first, "UNLISTEN"u8))
        {
            return Pins("LISTEN", out reason);
        }
        if (Is(first, "PREPARE"u8) && !Is(second, "TRANSACTION"u8) || Is(first, "EXECUTE"u8) || Is(first, "DEALLOCATE"u8))
        {
            return Pins("SQL-level prepared statement", out reason);
        }
        if (Is(first, "LOAD"u8))
        {
            return Pins("LOAD", out reason);
        }
        if (Is(first, "DECLARE"u8) && holdCursor)
        {
            return Pins("cursor WITH HOLD", out reason);
        }
        if (temporary)
        {
            return Pins("temporary table", out reason);
        }
        if (advisoryLock)
        {
            return Pins("session advisory lock", out reason);
        }
        return setConfig ? StatementKind.SettingsUnknown : StatementKind.Ordinary;
    }

    /// <summary>
    /// DEALLOCATE [PREPARE] name | ALL as a statement of its own; <paramref name="name"/> is null for
    /// ALL. Names are folded to lower case unless quoted, as PostgreSQL does.
    /// </summary>
    public static bool TryReadDeallocate(ReadOnlySpan<byte> query, out string? name)
    {
        name = null;
        var tokens = new SqlTokenizer(query);
        if (!tokens.Next(out var kind, out var token) || kind != SqlToken.Word || !Is(token, "DEALLOCATE"u8)
            || !tokens.Next(out kind, out token))
        {
            return false;
        }
        if (kind == SqlToken.Word && Is(token, "PREPARE"u8) && !tokens.Next(out kind, out token))
        {
            return false;
        }
        var identifier = token;
        bool quoted = kind == SqlToken.QuotedWord;
        // A closed quoted name holds an even number of quotes ("" inside stands for one).
        if (!(kind == SqlToken.Word || quoted && identifier.Length > 2 && identifier.Count((byte)'"') % 2 == 0))
        {
            return false;
        }
        if (tokens.Next(out kind, out _) && (kind != SqlToken.Semicolon || tokens.Next(out _, out _)))
        {
            return false;
        }
        if (quoted)
        {
            name = Encoding.UTF8.GetString(identifier[1..^1]).Replace("\"\"", "\"", StringComparison.Ordinal);
            return true;
        }
        if (Is(identifier, "ALL"u8))
        {
            return true;
        }
        // Only ASCII letters fold, as in PostgreSQL's downcase_identifier for UTF-8.
        var folded = identifier.ToArray();
        for (int i = 0; i < folded.Length; i++)
        {
            folded[i] = folded[i] is >= (byte)'A' and <= (byte)'Z' ? (byte)(folded[i] + 32) : folded[i];
        }
        name = Encoding.UTF8.GetString(folded);
        return true;
    }

    private static bool IsTemp(ReadOnlySpan<byte> word) => Is(word, "TEMP"u8) || Is(word, "TEMPORARY"u8);

    private static StatementKind Pins(string why, out string reason)
    {
        reason = why;
        return StatementKind.PinsSession;
    }

    private static bool Is(ReadOnlySpan<byte> word, ReadOnlySpan<byte> keyword) => Ascii.EqualsIgnoreCase(word, keyword);

    private static bool StartsWith(ReadOnlySpan<byte> word, ReadOnlySpan<byte> prefix) =>
        word.Length >= prefix.Length && Ascii.EqualsIgnoreCase(word[..prefix.Length], prefix);
}
