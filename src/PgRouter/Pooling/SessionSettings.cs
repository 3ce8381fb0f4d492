using System.Security.Cryptography;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Routing;

namespace PgRouter.Pooling;

/// <summary>
/// The session state a client expects on whichever server it gets: its startup parameters
/// (application_name, DateStyle, options' -c settings, …) and the SET and RESET statements it ran.
/// A server whose fingerprint differs gets <see cref="ResetSql"/> and these, in one query, before
/// the client's next transaction.
/// </summary>
internal sealed class SessionSettings
{
    /// <summary>Back to the server's defaults: RESET ALL leaves role and session_authorization (GUC_NO_RESET_ALL).</summary>
    public const string ResetSql = "RESET SESSION AUTHORIZATION;RESET ROLE;RESET ALL";

    /// <summary>A newline first: a recorded statement may end in a -- comment.</summary>
    private const string Separator = "\n;";

    private static readonly HashSet<string> LoginOnly = new(StringComparer.OrdinalIgnoreCase) { "user", "database", "replication", "options" };

    /// <summary>SET forms whose name is not the parameter's (SET TIME ZONE, SET SCHEMA, …).</summary>
    private static readonly (string Words, string Name)[] SpecialForms =
    [
        ("TIME ZONE", "timezone"), ("SCHEMA", "search_path"), ("NAMES", "client_encoding"), ("XML OPTION", "xmloption"),
        ("SESSION AUTHORIZATION", "session_authorization"), ("SESSION CHARACTERISTICS", "session_characteristics"),
    ];

    private readonly List<(string Name, string Sql)> _startup = [];
    private readonly List<(string Name, string Sql)> _statements = [];

    /// <summary>The statements as the last finished transaction left them, while the current one changes them.</summary>
    private List<(string Name, string Sql)>? _settled;

    /// <summary>The open transaction's savepoints, oldest first, each with the statements as they were when it was set.</summary>
    private List<(string Name, List<(string Name, string Sql)> Statements)>? _savepoints;
    private string? _sql;

    public SessionSettings(StartupParameters parameters)
    {
        // As PostgreSQL does: the options' -c settings first, the packet's own parameters over them.
        if (parameters["options"] is { } options)
        {
            foreach (var (name, value) in StartupOptions.Settings(options))
            {
                AddStartup(name, value);
            }
        }
        foreach (var (name, value) in parameters.Items)
        {
            if (!LoginOnly.Contains(name))
            {
                AddStartup(name, Encoding.UTF8.GetString(value));
            }
        }
        Fingerprint = Compute();
    }

    /// <summary>0 when there is nothing to apply: a server as logged in already fits.</summary>
    public ulong Fingerprint { get; private set; }

    /// <summary>The query that makes a server fit; only when <see cref="Fingerprint"/> is not 0.</summary>
    public string SetupSql => _sql ??= _statements.Count == 0 && _startup.Count == 0
        ? ""
        : string.Join(Separator, [ResetSql, .. _startup.Select(s => s.Sql), .. _statements.Select(s => s.Sql)]);

    /// <summary>
    /// A SET or RESET the client ran, replayed on its next servers; a later one of the same parameter
    /// replaces it. False when the server that ran it now differs from the fingerprint: RESET of a
    /// startup parameter gives the server's default there, the client's startup value elsewhere.
    /// </summary>
    public bool Record(ReadOnlySpan<byte> statement)
    {
        _settled ??= [.. _statements];
        var tokens = new SqlTokenizer(statement);
        tokens.Next(out _, out var keyword);
        bool reset = Ascii.EqualsIgnoreCase(keyword, "RESET"u8) || SetsDefault(statement);
        string text = Encoding.UTF8.GetString(statement).Trim().TrimEnd(';').TrimEnd();
        string name = ParameterName(Encoding.UTF8.GetString(statement[tokens.Position..])) ?? text;
        _statements.RemoveAll(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        if (!reset)
        {
            _statements.Add((name, text));
        }
        Changed();
        return !reset || !_startup.Exists(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>SET name TO DEFAULT (or = DEFAULT) is RESET name.</summary>
    private static bool SetsDefault(ReadOnlySpan<byte> statement)
    {
        var tokens = new SqlTokenizer(statement);
        ReadOnlySpan<byte> beforeLast = default, last = default;
        SqlToken lastKind = SqlToken.Other;
        while (tokens.Next(out var kind, out var token) && kind != SqlToken.Semicolon)
        {
            beforeLast = last;
            last = token;
            lastKind = kind;
        }
        return lastKind == SqlToken.Word && Ascii.EqualsIgnoreCase(last, "DEFAULT"u8)
            && (Ascii.EqualsIgnoreCase(beforeLast, "TO"u8) || beforeLast.SequenceEqual("="u8));
    }

    /// <summary>RESET ALL or DISCARD ALL: back to the startup parameters.</summary>
    public void ResetAll()
    {
        _settled ??= [.. _statements];
        _statements.Clear();
        Changed();
    }

    /// <summary>SETs, RESETs or savepoints were recorded in a transaction that has not ended yet.</summary>
    public bool Unsettled => _settled is not null || _savepoints is not null;

    /// <summary>
    /// The transaction ended: keep what it recorded if it committed, else go back to before it. True
    /// when the settings went back (the server that ran the transaction undid them by itself).
    /// </summary>
    public bool Settle(bool committed)
    {
        _savepoints = null;
        if (_settled is null)
        {
            return false;
        }
        bool wentBack = !committed;
        if (wentBack)
        {
            _statements.Clear();
            _statements.AddRange(_settled);
            Changed();
        }
        _settled = null;
        return wentBack;
    }

    /// <summary>
    /// SAVEPOINT name sets a mark; RELEASE [SAVEPOINT] name drops it and the later ones; ROLLBACK TO
    /// [SAVEPOINT] name undoes the SETs since, as PostgreSQL does, and keeps the mark. True when the
    /// settings went back.
    /// </summary>
    public bool Savepoint(ReadOnlySpan<byte> statement)
    {
        var tokens = new SqlTokenizer(statement);
        tokens.Next(out _, out var keyword);
        bool set = Ascii.EqualsIgnoreCase(keyword, "SAVEPOINT"u8);
        bool rollback = Ascii.EqualsIgnoreCase(keyword, "ROLLBACK"u8);
        // The words after the keyword: SAVEPOINT name | RELEASE [SAVEPOINT] name | ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name
        var words = new List<(bool Quoted, string Text)>(4);
        while (words.Count < 4 && tokens.Next(out var kind, out var token) && kind is SqlToken.Word or SqlToken.QuotedWord)
        {
            words.Add((kind == SqlToken.QuotedWord, Encoding.UTF8.GetString(token)));
        }
        int at = 0;
        if (rollback)
        {
            if (words.Count > at && (IsWord(words[at], "WORK") || IsWord(words[at], "TRANSACTION")))
            {
                at++;
            }
            if (!(words.Count > at && IsWord(words[at], "TO")))
            {
                return false;
            }
            at++;
        }
        if (!set && words.Count > at + 1 && IsWord(words[at], "SAVEPOINT"))
        {
            at++;
        }
        string? name = words.Count > at ? SavepointName(words[at]) : null;
        if (name is null)
        {
            return false;
        }
        if (set)
        {
            (_savepoints ??= []).Add((name, [.. _statements]));
            return false;
        }
        int mark = _savepoints?.FindLastIndex(s => s.Name == name) ?? -1;
        if (mark < 0)
        {
            return false;
        }
        if (!rollback)
        {
            _savepoints!.RemoveRange(mark, _savepoints.Count - mark);
            return false;
        }
        _savepoints!.RemoveRange(mark + 1, _savepoints.Count - mark - 1);
        var before = _savepoints[mark].Statements;
        if (before.SequenceEqual(_statements))
        {
            return false;
        }
        _settled ??= [.. _statements];
        _statements.Clear();
        _statements.AddRange(before);
        Changed();
        return true;
    }

    private static bool IsWord((bool Quoted, string Text) word, string keyword) =>
        !word.Quoted && string.Equals(word.Text, keyword, StringComparison.OrdinalIgnoreCase);

    /// <summary>A savepoint's name as PostgreSQL keeps it: unquoted names fold ASCII letters to lower case.</summary>
    private static string? SavepointName((bool Quoted, string Text) word) => word.Quoted
        ? word.Text.Length > 2 ? word.Text[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : null
        : string.Create(word.Text.Length, word.Text, static (span, text) =>
        {
            for (int i = 0; i < text.Length; i++)
            {
                span[i] = char.IsAsciiLetterUpper(text[i]) ? (char)(text[i] + 32) : text[i];
            }
        });

    /// <summary>The parameter a SET or RESET is about (after the keyword), or null for a form not understood.</summary>
    internal static string? ParameterName(string rest)
    {
        rest = rest.TrimStart();
        if (rest.StartsWith("SESSION ", StringComparison.OrdinalIgnoreCase)
            && !rest.StartsWith("SESSION AUTHORIZATION", StringComparison.OrdinalIgnoreCase)
            && !rest.StartsWith("SESSION CHARACTERISTICS", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest[8..].TrimStart();
        }
        foreach (var (words, name) in SpecialForms)
        {
            if (rest.StartsWith(words, StringComparison.OrdinalIgnoreCase) && (rest.Length == words.Length || !IsNameChar(rest[words.Length])))
            {
                return name;
            }
        }
        if (rest.StartsWith('"'))
        {
            int close = rest.IndexOf('"', 1);
            return close > 1 ? rest[1..close] : null;
        }
        int length = 0;
        while (length < rest.Length && (IsNameChar(rest[length]) || rest[length] == '.'))
        {
            length++;
        }
        return length == 0 ? null : rest[..length].ToLowerInvariant();
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$';

    private void Changed()
    {
        _sql = null;
        Fingerprint = Compute();
    }

    private ulong Compute() =>
        SetupSql.Length == 0 ? 0 : BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(SetupSql))) | 1;

    /// <summary>Names come from the client: only ordinary configuration names are passed on, quoted.</summary>
    private void AddStartup(string name, string value)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
        {
            return;
        }
        _startup.RemoveAll(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        _startup.Add((name, $"SET \"{name}\" TO '{value.Replace("'", "''")}'"));
    }
}
