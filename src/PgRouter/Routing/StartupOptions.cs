using System.Text;

namespace PgRouter.Routing;

/// <summary>
/// The startup parameter "options" holds command-line style settings (-c name=value, --name=value),
/// split on spaces with backslash escapes as PostgreSQL's pg_split_opts does. PgRouter takes out its
/// own settings (pgrouter.*) so that PostgreSQL, which does not know them, never sees them.
/// </summary>
internal static class StartupOptions
{
    private const string OwnPrefix = "pgrouter.";

    /// <returns>The options without PgRouter's settings (null when nothing is left) and those settings by name.</returns>
    public static (string? Remaining, Dictionary<string, string> Own) Extract(string? options)
    {
        var own = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(options))
        {
            return (options, own);
        }

        var tokens = Split(options);
        var kept = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            string? setting = null;
            int consumed = 1;
            if (token == "-c" && i + 1 < tokens.Count)
            {
                setting = tokens[i + 1];
                consumed = 2;
            }
            else if (token.StartsWith("-c", StringComparison.Ordinal) || token.StartsWith("--", StringComparison.Ordinal))
            {
                setting = token[2..];
            }

            int equals = setting?.IndexOf('=') ?? -1;
            if (setting is not null && equals > 0 && setting.StartsWith(OwnPrefix, StringComparison.OrdinalIgnoreCase))
            {
                own[setting[OwnPrefix.Length..equals]] = setting[(equals + 1)..];
            }
            else
            {
                kept.AddRange(tokens.Skip(i).Take(consumed));
            }
            i += consumed - 1;
        }

        if (own.Count == 0)
        {
            return (options, own);
        }
        return (kept.Count == 0 ? null : string.Join(' ', kept.Select(Escape)), own);
    }

    /// <summary>The -c name=value (and --name=value) settings in options, for a pooled session to apply with SET.</summary>
    public static List<(string Name, string Value)> Settings(string options)
    {
        var tokens = Split(options);
        var settings = new List<(string, string)>();
        for (int i = 0; i < tokens.Count; i++)
        {
            string? setting = tokens[i] == "-c" && i + 1 < tokens.Count ? tokens[++i]
                : tokens[i].StartsWith("-c", StringComparison.Ordinal) || tokens[i].StartsWith("--", StringComparison.Ordinal) ? tokens[i][2..]
                : null;
            int equals = setting?.IndexOf('=') ?? -1;
            if (equals > 0)
            {
                // PostgreSQL reads --name-with-dashes as name_with_dashes.
                settings.Add((setting![..equals].Replace('-', '_'), setting[(equals + 1)..]));
            }
        }
        return settings;
    }

    private static List<string> Split(string options)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool inToken = false;
        for (int i = 0; i < options.Length; i++)
        {
            char c = options[i];
            if (char.IsWhiteSpace(c))
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
                continue;
            }
            if (c == '\\' && i + 1 < options.Length)
            {
                c = options[++i];
            }
            current.Append(c);
            inToken = true;
        }
        if (inToken)
        {
            tokens.Add(current.ToString());
        }
        return tokens;
    }

    private static string Escape(string token)
    {
        var escaped = new StringBuilder(token.Length);
        foreach (char c in token)
        {
            if (c == '\\' || char.IsWhiteSpace(c))
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }
        return escaped.ToString();
    }
}
