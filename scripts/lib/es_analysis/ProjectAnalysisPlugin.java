package io.airflowanomaly.analysis;

import java.io.IOException;
import java.util.Map;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.miscellaneous.RemoveDuplicatesTokenFilter;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The three analysis components the security index's `email` analyzer needs and the
 * integration-test distribution lacks (it ships without the analysis-common module): the
 * `uax_url_email` tokenizer and the `pattern_capture` and `unique` token filters, on Lucene's
 * own classes. Without them the node cannot create its security index, so no native user, role
 * or API key. scripts/elasticsearch.sh builds this with the node's own jars.
 */
public class ProjectAnalysisPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of("uax_url_email", (indexSettings, environment, name, settings) ->
            TokenizerFactory.newFactory(name, UAX29URLEmailTokenizer::new));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "pattern_capture", new AnalysisProvider<TokenFilterFactory>() {
                @Override
                public TokenFilterFactory get(IndexSettings indexSettings, Environment environment, String name, Settings settings) {
                    boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
                    Pattern[] patterns = settings.getAsList("patterns").stream().map(Pattern::compile).toArray(Pattern[]::new);
                    if (patterns.length == 0) {
                        throw new IllegalArgumentException("pattern_capture filter [" + name + "] needs patterns");
                    }
                    return filter(name, input -> new PatternCaptureGroupTokenFilter(input, preserveOriginal, patterns));
                }

                @Override
                public boolean requiresAnalysisSettings() {  // no default instance: it is nothing without patterns
                    return true;
                }
            },
            "unique", (indexSettings, environment, name, settings) ->
                settings.getAsBoolean("only_on_same_position", false)
                    ? filter(name, RemoveDuplicatesTokenFilter::new)
                    : filter(name, UniqueTermsFilter::new)
        );
    }

    private static TokenFilterFactory filter(String name, java.util.function.Function<TokenStream, TokenStream> wrap) {
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream tokenStream) {
                return wrap.apply(tokenStream);
            }
        };
    }

    /** Drops a term seen before anywhere in the stream (not only at the same position). */
    static final class UniqueTermsFilter extends TokenFilter {
        private final CharTermAttribute term = addAttribute(CharTermAttribute.class);
        private final CharArraySet seen = new CharArraySet(8, false);

        UniqueTermsFilter(TokenStream input) {
            super(input);
        }

        @Override
        public boolean incrementToken() throws IOException {
            while (input.incrementToken()) {
                if (!seen.contains(term.buffer(), 0, term.length())) {
                    char[] copy = new char[term.length()];
                    System.arraycopy(term.buffer(), 0, copy, 0, term.length());
                    seen.add(copy);
                    return true;
                }
            }
            return false;
        }

        @Override
        public void reset() throws IOException {
            super.reset();
            seen.clear();
        }
    }
}
