using System.Text;

namespace PgRouter.Pooling;

/// <summary>
/// Tells from a statement's first words whether it leaves session state behind, without parsing
/// SQL and without allocating: SET and RESET are recorded and replayed on whichever server the
/// client gets next; anything only the same server session can keep (LISTEN, WITH HOLD cursors,
/// temp tables, SQL-level PREPARE, LOAD, session advisory locks) keeps the client on its server.
/// </summary>
internal static class StatementClassifier
{
    public static StatementKind Classify(ReadOnlySpan<byte> query, out string? reason)
    {
        reason = null;
        var rest = query;
        var first = NextWord(ref rest);
        var second = NextWord(ref rest);
        if (Is(first, "SET"u8))
        {
            return Is(second, "LOCAL"u8) || Is(second, "TRANSACTION"u8) || Is(second, "CONSTRAINTS"u8)
                ? StatementKind.Ordinary
                : SingleStatement(query, StatementKind.SessionSetting, ref reason);
        }
        if (Is(first, "RESET"u8))
        {
            return SingleStatement(query, Is(second, "ALL"u8) ? StatementKind.ResetAll : StatementKind.SessionSetting, ref reason);
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
        if (Is(first, "DECLARE"u8) && ContainsIgnoringCase(query, "with hold"u8))
        {
            return Pins("cursor WITH HOLD", out reason);
        }
        if (Is(first, "CREATE"u8) && (IsTemp(second) || (Is(second, "LOCAL"u8) || Is(second, "GLOBAL"u8)) && IsTemp(NextWord(ref rest))))
        {
            return Pins("temporary table", out reason);
        }
        if (Is(first, "LOAD"u8))
        {
            return Pins("LOAD", out reason);
        }
        if (ContainsIgnoringCase(query, "set_config"u8))
        {
            return StatementKind.SettingsUnknown;
        }
        if (ContainsIgnoringCase(query, "pg_advisory_lock"u8) || ContainsIgnoringCase(query, "pg_try_advisory_lock"u8))
        {
            return Pins("session advisory lock", out reason);
        }
        return StatementKind.Ordinary;
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

    /// <summary>A SET followed by other statements cannot be replayed alone: the client keeps its server.</summary>
    private static StatementKind SingleStatement(ReadOnlySpan<byte> query, StatementKind kind, ref string? reason)
    {
        int semicolon = query.IndexOf((byte)';');
        return semicolon >= 0 && !SkipBlanks(query[(semicolon + 1)..]).IsEmpty
            ? Pins("SET inside a multi-statement query", out reason)
            : kind;
    }

    private static bool Is(ReadOnlySpan<byte> word, ReadOnlySpan<byte> keyword) => Ascii.EqualsIgnoreCase(word, keyword);

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

    /// <summary>ASCII case-insensitive search for a lower-case phrase: the lower- and the upper-case forms.</summary>
    private static bool ContainsIgnoringCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> lowerCase)
    {
        if (text.IndexOf(lowerCase) >= 0)
        {
            return true;
        }
        Span<byte> upper = stackalloc byte[lowerCase.Length];
        Ascii.ToUpper(lowerCase, upper, out _);
        return text.IndexOf(upper) >= 0;
    }
}
