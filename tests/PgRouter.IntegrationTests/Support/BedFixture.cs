using Xunit;

namespace PgRouter.IntegrationTests.Support;

/// <summary>One bed and one PgRouter for all integration tests, which run one after the other.</summary>
public sealed class BedFixture : IAsyncLifetime
{
    private const int BedPortBase = 13300;
    private const int RouterPortBase = 13340;

    internal string RepositoryRoot { get; } = FindRepositoryRoot();

    internal Bed Bed { get; private set; } = null!;

    internal PgRouterProcess Router { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Bed = new Bed(RepositoryRoot, "/tmp/pgrouter-itest", BedPortBase);
        await Bed.RunAsync("stop");
        await Bed.RunAsync("start");
        Router = await PgRouterProcess.StartAsync(RepositoryRoot, Bed, RouterPortBase, "/tmp/pgrouter-itest-router");
    }

    public async Task DisposeAsync()
    {
        if (Router is not null)
        {
            await Router.DisposeAsync();
        }
        await Bed.RunAsync("stop");
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PgRouter.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("PgRouter.sln not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class BedCollection : ICollectionFixture<BedFixture>
{
    public const string Name = "bed";
}
