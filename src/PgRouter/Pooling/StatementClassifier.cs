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
        bool createHeader = true, temporary = false, holdCursor = false, advisoryLock = false, setConfig = false;
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
        var rest = query;
        if (!Is(NextWord(ref rest), "DEALLOCATE"u8))
        {
            return false;
        }
        rest = SkipBlanks(rest);
        var afterPrepare = rest;
        if (Is(NextWord(ref afterPrepare), "PREPARE"u8))
        {
            rest = SkipBlanks(afterPrepare);
        }

        ReadOnlySpan<byte> identifier;
        bool quoted = !rest.IsEmpty && rest[0] == '"';
        if (quoted)
        {
            int close = 1;
            while (true)
            {
                int next = rest[close..].IndexOf((byte)'"');
                if (next < 0)
                {
                    return false;
                }
                close += next;
                if (close + 1 < rest.Length && rest[close + 1] == '"')
                {
                    close += 2;
                    continue;
                }
                break;
            }
            identifier = rest[1..close];
            rest = rest[(close + 1)..];
        }
        else
        {
            int length = 0;
            while (length < rest.Length && (char.IsAsciiLetterOrDigit((char)rest[length]) || rest[length] is (byte)'_' or (byte)'$' || rest[length] >= 0x80))
            {
                length++;
            }
            identifier = rest[..length];
            rest = rest[length..];
        }
        rest = SkipBlanks(rest);
        if (identifier.IsEmpty || !(rest.IsEmpty || (rest[0] == ';' && SkipBlanks(rest[1..]).IsEmpty)))
        {
            return false;
        }
        if (!quoted && Is(identifier, "ALL"u8))
        {
            return true;
        }
        if (quoted)
        {
            name = Encoding.UTF8.GetString(identifier).Replace("\"\"", "\"", StringComparison.Ordinal);
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

    /// <summary>The next word (letters and underscores), and the rest after it.</summary>
    private static ReadOnlySpan<byte> NextWord(ref ReadOnlySpan<byte> text)
    {
        text = SkipBlanks(text);
        int length = 0;
        while (length < text.Length && (char.IsAsciiLetter((char)text[length]) || text[length] == '_'))
        {
            length++;
        }
        var word = text[..length];
        text = text[length..];
        return word;
    }

    /// <summary>Skips white space and comments (-- to the end of the line, /* … */).</summary>
    private static ReadOnlySpan<byte> SkipBlanks(ReadOnlySpan<byte> text)
    {
        while (true)
        {
            text = text.TrimStart(" \t\r\n\f"u8);
            if (text.StartsWith("--"u8))
            {
                int end = text.IndexOf((byte)'\n');
                text = end < 0 ? default : text[(end + 1)..];
            }
            else if (text.StartsWith("/*"u8))
            {
                int end = text.IndexOf("*/"u8);
                text = end < 0 ? default : text[(end + 2)..];
            }
            else
            {
                return text;
            }
        }
    }
}
