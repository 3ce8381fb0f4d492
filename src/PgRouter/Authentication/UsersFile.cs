using System.Text;

namespace PgRouter.Authentication;

/// <summary>
/// PgBouncer's userlist.txt: one <c>"user" "secret"</c> per line (a quote inside a field is doubled;
/// the rest of the line is ignored), the secret a SCRAM secret, an md5 hash or plain text. The file is
/// read again when it changes; a file that cannot be read leaves the last good version in use.
/// </summary>
internal sealed partial class UsersFile(string path, TimeProvider time, ILogger<UsersFile> logger)
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _reload = new();
    private Dictionary<string, UserSecret> _users = [];
    private DateTime _loadedWriteTime;
    private long _lastCheck;

    public string Path => path;

    public UserSecret? Find(string user)
    {
        ReloadIfChanged();
        return Volatile.Read(ref _users).GetValueOrDefault(user);
    }

    /// <summary>Reads the file now; at start a file that cannot be read is an error worth stopping for.</summary>
    public void Load()
    {
        lock (_reload)
        {
            Volatile.Write(ref _lastCheck, time.GetTimestamp());
            _loadedWriteTime = File.GetLastWriteTimeUtc(path);
            var users = Parse(File.ReadAllLines(path), out var problems);
            foreach (string problem in problems)
            {
                LogLineSkipped(path, problem);
            }
            Volatile.Write(ref _users, users);
            LogLoaded(path, users.Count);
        }
    }

    private void ReloadIfChanged()
    {
        long now = time.GetTimestamp();
        if (time.GetElapsedTime(Volatile.Read(ref _lastCheck), now) < CheckInterval)
        {
            return;
        }
        Volatile.Write(ref _lastCheck, now);
        try
        {
            if (File.GetLastWriteTimeUtc(path) != _loadedWriteTime)
            {
                Load();
            }
        }
        catch (IOException e)
        {
            LogReloadFailed(path, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            LogReloadFailed(path, e.Message);
        }
    }

    public static Dictionary<string, UserSecret> Parse(IEnumerable<string> lines, out List<string> problems)
    {
        var users = new Dictionary<string, UserSecret>();
        problems = [];
        int number = 0;
        foreach (string line in lines)
        {
            number++;
            string trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] is ';' or '#')
            {
                continue;
            }
            int position = 0;
            if (!TryField(trimmed, ref position, out string user) || !TryField(trimmed, ref position, out string secret))
            {
                // Never echo the line: it may hold a password.
                problems.Add($"line {number} is not \"user\" \"secret\"");
                continue;
            }
            users[user] = UserSecret.Parse(user, secret);
        }
        return users;
    }

    private static bool TryField(string line, ref int position, out string value)
    {
        value = "";
        while (position < line.Length && char.IsWhiteSpace(line[position]))
        {
            position++;
        }
        if (position >= line.Length || line[position] != '"')
        {
            return false;
        }
        var field = new StringBuilder();
        for (position++; position < line.Length; position++)
        {
            if (line[position] != '"')
            {
                field.Append(line[position]);
            }
            else if (position + 1 < line.Length && line[position + 1] == '"')
            {
                field.Append('"');
                position++;
            }
            else
            {
                position++;
                value = field.ToString();
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(700, LogLevel.Information, "users file {Path}: {Count} users loaded")]
    private partial void LogLoaded(string path, int count);

    [LoggerMessage(701, LogLevel.Warning, "users file {Path}: {Problem}; skipped")]
    private partial void LogLineSkipped(string path, string problem);

    [LoggerMessage(702, LogLevel.Warning, "users file {Path} could not be read again, the last version stays in use: {Error}")]
    private partial void LogReloadFailed(string path, string error);
}
