using System.Security.Cryptography;
using System.Text;
using PgRouter.Protocol;
using PgRouter.Routing;

namespace PgRouter.Pooling;

/// <summary>
/// The session state a client expects on whichever server it gets: its startup parameters
/// (application_name, DateStyle, options' -c settings, …) and the SET and RESET statements it ran.
/// A server whose fingerprint differs gets RESET ALL and these, in one query, before the client's
/// next transaction.
/// </summary>
internal sealed class SessionSettings
{
    private static readonly HashSet<string> LoginOnly = new(StringComparer.OrdinalIgnoreCase) { "user", "database", "replication", "options" };
    private readonly List<string> _startup = [];
    private readonly List<string> _statements = [];
    private string? _sql;

    public SessionSettings(StartupParameters parameters)
    {
        foreach (var (name, value) in parameters.Items)
        {
            if (!LoginOnly.Contains(name))
            {
                AddSetting(name, Encoding.UTF8.GetString(value));
            }
        }
        if (parameters["options"] is { } options)
        {
            foreach (var (name, value) in StartupOptions.Settings(options))
            {
                AddSetting(name, value);
            }
        }
        Fingerprint = Compute();
    }

    /// <summary>0 when there is nothing to apply: a server as logged in already fits.</summary>
    public ulong Fingerprint { get; private set; }

    /// <summary>The query that makes a server fit; only when <see cref="Fingerprint"/> is not 0.</summary>
    public string SetupSql => _sql ??= string.Join(";", _statements.Count == 0 && _startup.Count == 0 ? [] : ["RESET ALL", .. _startup, .. _statements]);

    /// <summary>A SET or RESET the client ran: replayed on its next servers.</summary>
    public void Record(ReadOnlySpan<byte> statement)
    {
        _statements.Add(Encoding.UTF8.GetString(statement).Trim().TrimEnd(';'));
        Changed();
    }

    /// <summary>RESET ALL or DISCARD ALL: back to the startup parameters.</summary>
    public void ResetAll()
    {
        _statements.Clear();
        Changed();
    }

    private void Changed()
    {
        _sql = null;
        Fingerprint = Compute();
    }

    private ulong Compute() =>
        _startup.Count == 0 && _statements.Count == 0 ? 0 : BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes(SetupSql))) | 1;

    /// <summary>Names come from the client: only ordinary configuration names are passed on, quoted.</summary>
    private void AddSetting(string name, string value)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
        {
            return;
        }
        _startup.Add($"SET \"{name}\" TO '{value.Replace("'", "''")}'");
    }
}
