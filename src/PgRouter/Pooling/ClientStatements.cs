using System.Security.Cryptography;
using System.Text;

namespace PgRouter.Pooling;

/// <summary>
/// The prepared statements one client made, by the client's names. Lookups by the bytes of a
/// Bind or Describe do not allocate.
/// </summary>
internal sealed class ClientStatements
{
    private const string Prefix = "pgr_";
    private readonly Dictionary<string, PreparedStatement> _named = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PreparedStatement>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public ClientStatements() => _byChars = _named.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The last unnamed statement the client parsed, to parse it again on another server if needed.</summary>
    public PreparedStatement? Unnamed { get; private set; }

    public int Count => _named.Count;

    /// <summary>Records a Parse; null when the client already has a statement by that name (PostgreSQL's 42P05).</summary>
    public PreparedStatement? Define(ReadOnlySpan<byte> name, ReadOnlySpan<byte> query, ReadOnlySpan<byte> types, int shape = StatementShape.Unknown)
    {
        if (name.IsEmpty)
        {
            return Unnamed = new PreparedStatement("", "", query.ToArray(), types.ToArray());
        }
        string key = Encoding.UTF8.GetString(name);
        if (_named.ContainsKey(key))
        {
            return null;
        }
        var statement = new PreparedStatement(key, ServerName(query, types), query.ToArray(), types.ToArray()) { Shape = shape };
        _named[key] = statement;
        return statement;
    }

    public PreparedStatement? Find(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return Unnamed;
        }
        Span<char> chars = stackalloc char[Encoding.UTF8.GetMaxCharCount(Math.Min(name.Length, 256))];
        if (name.Length > 256 || !Encoding.UTF8.TryGetChars(name, chars, out int written))
        {
            return _named.GetValueOrDefault(Encoding.UTF8.GetString(name));
        }
        return _byChars.TryGetValue(chars[..written], out var statement) ? statement : null;
    }

    public void Remove(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            Unnamed = null;
        }
        else
        {
            _named.Remove(Encoding.UTF8.GetString(name));
        }
    }

    /// <summary>A Parse that failed: the statement does not exist (unless the name was defined again since).</summary>
    public void Forget(PreparedStatement statement)
    {
        if (statement.ClientName.Length == 0)
        {
            if (Unnamed == statement)
            {
                Unnamed = null;
            }
        }
        else if (_named.TryGetValue(statement.ClientName, out var current) && current == statement)
        {
            _named.Remove(statement.ClientName);
        }
    }

    /// <summary>DEALLOCATE ALL, DISCARD ALL.</summary>
    public void Clear()
    {
        _named.Clear();
        Unnamed = null;
    }

    /// <summary>The same query and parameter types give the same name on every server, whichever client prepared it.</summary>
    public static string ServerName(ReadOnlySpan<byte> query, ReadOnlySpan<byte> types)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(query);
        hash.AppendData([0]);
        hash.AppendData(types);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Prefix + Convert.ToHexStringLower(digest[..16]);
    }
}
