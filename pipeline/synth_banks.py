"""Line banks for the synthetic lyrics corpus (pipeline/synth.py).

Every line, phrase and name here was written for this project; none is taken from a real song.
Each genre has its own vocabulary, themes and line length, so a bag-of-words classifier (and a
small language model) can tell the genres apart:

- rap: long, dense lines about the grind, the block, the mic and money, with ad-libs;
- pop: short lines about dancing, lights, hearts and tonight;
- rock: roads, fire, thunder, steel, rebellion;
- rb: slow, tender lines about touch, silk, candles and late nights, with "ooh" ad-libs;
- country: dirt roads, trucks, porches, Sunday church, hometowns;
- misc: not songs: poems, numbered scripture-like chapters, TV-script scenes and essays.

A line template is a string with ``{slot}`` fields; each slot names a list in the genre's
``slots``, or ``X_h1`` / ``X_h2`` for the two halves of the lines of slot ``X`` (see
:func:`halves`), so whole lines recombine. The combinations give each genre hundreds of thousands
of distinct lines.
"""

from __future__ import annotations

# Words a line may be split before: a prepositional or linking second half recombines with any
# first half ("Touch me" + "through the window pane"); a verb phrase would not.
_SPLIT_WORDS = frozenset(
    ["with", "in", "on", "from", "through", "to", "at", "like", "off", "up", "and", "while", "for", "of", "under", "over", "by", "into", "where", "when", "till", "until", "than"]
)  # fmt: skip
_WEAK_ENDINGS = frozenset(("the", "a", "an", "my", "your", "our", "this", "that"))


def halves(lines: list[str]) -> tuple[list[str], list[str]]:
    """First and second halves of the lines that split well (before a preposition or
    conjunction, with at least two words on each side), for recombining as new lines."""
    heads, tails = [], []
    for line in lines:
        words = line.split()
        cuts = [
            i
            for i in range(2, len(words) - 1)
            if words[i].lower() in _SPLIT_WORDS and words[i - 1].lower() not in _WEAK_ENDINGS
        ]
        if not cuts:
            continue
        i = min(cuts, key=lambda c: abs(c - len(words) / 2))
        heads.append(" ".join(words[:i]).rstrip(","))
        tails.append(" ".join(words[i:]))
    return heads, tails


# --------------------------------------------------------------------------------------------
# rap
# --------------------------------------------------------------------------------------------
RAP = {
    "verse": [
        "{rap_a_h1} {rap_a_h2}",
        "{rap_a_h1} {rap_a_h2}",
        "{rap_a_h1} {rap_a_h2}",
        "{rap_a_h1} {rap_a_h2} {rap_adlib}",
        "{rap_a}, {rap_tail}",
        "{rap_a_h1}, {rap_b}",
        "{rap_a_h1} while {rap_c}",
        "I {rap_verb} {rap_obj} {rap_place}, {rap_b}",
        "{rap_who} {rap_verb2} {rap_obj}, I {rap_verb} {rap_obj2}",
        "Ask {rap_who2} how I {rap_verb} {rap_obj}, {rap_tail}",
    ],
    "hook": [
        "{rap_hook}",
        "{rap_hook} {rap_adlib}",
        "{rap_hook}, {rap_tail}",
    ],
    "slots": {
        "rap_a": [
            "Came up off the corner with a notebook and a plan",
            "Every bar I'm spitting got the weight of twenty grand",
            "Started in the basement where the pipes would always leak",
            "Moving through the city with the hustle in my feet",
            "Mama told me stay away from running with the crew",
            "Counting up the paper in a room without a view",
            "Pulled up to the cypher with the verses in my chest",
            "Never took a day off, never needed any rest",
            "Grew up on the east side where the streetlights flicker low",
            "Got the whole block nodding every time I drop a flow",
            "Stacking up the bread while the doubters catch a nap",
            "Studio at midnight, I'm just cooking up a track",
            "Fresh kicks on the pavement and the chain around my neck",
            "Every single verse is like a cashier's check",
            "Homies from the bus stop know exactly where I'm at",
            "Built it out of nothing with a mic and a backpack",
            "Rent was overdue, I had to sharpen up the pen",
            "They ain't want to listen but they listening again",
            "Riding through the concrete with the windows cracking wide",
            "Pressure in the booth and I'm just letting it ride",
            "Bills on the counter and the fridge is looking thin",
            "Locked into the beat like a key inside a pin",
            "Hood on my back and I'm carrying the name",
            "Twenty-four bars and I'm reshaping the game",
            "Ten toes down on the blocks where I was raised",
            "Grinding through the winter, through the dark and through the haze",
            "Little cousin asking how I made it out the maze",
            "Cold cuts at the bodega, talking numbers with the plug",
            "Late-night bus rides with a verse and a mug",
            "Pen keep moving like it's running from the cops",
            "Tracksuit and a rhyme book, headed to the top",
            "Heard the bass knock from the trunk a mile away",
            "I was born with a hustle, it's the only way I play",
            "Turned a broken speaker to a bag and a deal",
            "Every line I write is just the truth that I feel",
            "Ran it up from zero when the lights got cut",
            "Spent the whole advance on a studio hut",
            "Flow so cold the engineer be grabbing a coat",
            "Still the same kid with the dream and the quote",
            "Pockets got heavy, now the critics got quiet",
            'Teacher said "you\'ll never make it" now she at the show',
            'Mama always told me "keep your circle small"',
        ],
        "rap_b": [
            "now the whole block know my name",
            "I ain't ever switching lanes",
            "stacking bands up to the ceiling",
            "catch me in the booth all night",
            "ain't no time to waste on fake ones",
            "every verse a victory lap",
            "I was hungry, now I'm eating",
            "pen game heavy like a brick",
            "I don't need a second chance",
            "still I'm grinding for the team",
            "watch the money multiply",
            "they be sleeping on the hustle",
            "I keep the crew close in the cut",
            "rolling deep with all my day ones",
            "turned the pain into a plaque",
            "and I never told a soul",
            "wrist froze like a winter night",
            "bars so sharp they draw blood",
            "from the bottom to the skyline",
            "I just did it with the team",
            "couldn't stop me with a roadblock",
            "mama smiling in the front row",
            "trap beat knocking in the Chevy",
            "they can't match the work ethic",
            "I was built for the pressure",
            "mic check, one two, let it bang",
            "pockets fat like Thanksgiving",
            "no cap, every word is real",
            "me and mine, we stay solid",
            "had to learn it on the pavement",
            "spinning tires in the parking lot",
            "I'm the realest in the cipher",
        ],
        "rap_c": [
            "the haters sit and watch",
            "the city sleeps below",
            "the beat keeps knocking loud",
            "the landlord knocks again",
            "my homies hold it down",
            "the streetlight buzzes out",
            "the bassline shakes the floor",
            "the money keeps on stacking",
        ],
        "rap_verb": ["run", "stack", "flip", "cook", "spit", "grind", "push", "chase", "count"],
        "rap_verb2": ["talking about", "dreaming about", "hating on", "sleeping on", "asking for"],
        "rap_obj": [
            "the paper",
            "these bars",
            "the work",
            "the block",
            "the beat",
            "the bread",
            "my verses",
            "the bag",
            "the numbers",
        ],
        "rap_obj2": [
            "the whole city",
            "the real ones",
            "my whole squad",
            "the mic stand",
            "the cash",
        ],
        "rap_place": [
            "on the corner",
            "in the booth",
            "at the bodega",
            "up in the penthouse",
            "down on Fifth",
            "in the back seat",
            "in the basement",
        ],
        "rap_who": ["They", "Haters", "Rappers", "Snakes", "Clowns", "Suckers"],
        "rap_who2": ["the block", "my mama", "the streets", "the homies", "the landlord"],
        "rap_tail": [
            "that's facts",
            "no cap",
            "on my word",
            "real talk",
            "you heard",
            "for the city",
            "straight up",
            "every day",
        ],
        "rap_hook": [
            "Money on my mind, I'ma grind till I shine",
            "Run it up, run it up, we ain't stopping tonight",
            "From the block to the top, yeah we never gon' stop",
            "Bands in the bag and the city on my back",
            "Every day I'm on the grind, every night I get it right",
            "All my day ones riding with me, all my day ones",
            "Stack it to the ceiling, that's the feeling",
            "Hustle on repeat, concrete under my feet",
            "Pull up to the function with the whole crew",
            "Came from the bottom of the block, now we up",
            "Count it up, count it up, let the paper pile up",
            "We don't fold, we don't break, we just take",
            "Ice on my wrist and the beat going crazy",
            "Keep it a hundred, keep it real with the gang",
        ],
    },
    "adlibs": [
        "(Yeah)",
        "(Uh)",
        "(Let's go)",
        "(Woo)",
        "(Skrrt)",
        "(Ayy)",
        "(Huh)",
        "(What?)",
        "(Facts)",
        "(Okay)",
        "(Brr)",
        "(Yeah, yeah)",
        "(Go)",
        "(Uh-huh)",
    ],
}

# --------------------------------------------------------------------------------------------
# pop
# --------------------------------------------------------------------------------------------
POP = {
    "verse": [
        "{pop_a}",
        "{pop_a_h1} {pop_a_h2}",
        "{pop_a_h1} {pop_a_h2}",
        "{pop_a_h1}, {pop_b}",
        "{pop_c}, {pop_b}",
        "{pop_c} {pop_d}",
    ],
    "hook": [
        "{pop_hook}",
        "{pop_hook}",
        "{pop_hook}, {pop_tag}",
        "Oh, {pop_hook_lc}",
    ],
    "slots": {
        "pop_a": [
            "Neon lights are calling out my name",
            "Glitter on the dance floor, sparkle in your eyes",
            "We were dancing on the rooftop in July",
            "Your heartbeat is the rhythm of the night",
            "Turn the radio up, let the summer in",
            "I can feel the magic when you pull me close",
            "Every little moment feels like gold",
            "Spin me round and round under the disco ball",
            "Caught up in the colors of the sky",
            "You and me are shining like a star",
            "Lipstick on the mirror, butterflies inside",
            "Pink champagne and confetti in the air",
            "We were running through the city in the rain",
            "Heart on my sleeve and I'm ready to fly",
            "Every song reminds me of your smile",
            "Sunset on the boulevard, we're young tonight",
            "Crystal skies and diamond dreams",
            "Dancing like nobody's watching us",
            "I wrote your name in sparkles on my hand",
            "Candy kisses under city lights",
            "The bass is pumping and my heart is jumping",
            "Tell me that you'll never let me go",
            "Falling for you faster than a shooting star",
            "Polaroid memories on my bedroom wall",
            'You whispered "stay" and I stayed until the dawn',
        ],
        "pop_b": [
            "baby, hold me tight",
            "we light it up tonight",
            "I'm on cloud nine",
            "the stars are ours",
            "don't stop the music",
            "you make me feel alive",
            "we're dancing all night long",
            "forever feels so right",
            "my heart goes boom",
            "we're golden",
        ],
        "pop_c": [
            "Hands up high",
            "Lights go down",
            "Say my name",
            "Feel the beat",
            "Stay with me",
            "Shine so bright",
            "Kiss me now",
            "Let it glow",
        ],
        "pop_d": [
            "and dance with me tonight",
            "like fireworks in June",
            "till the morning light",
            "in a sparkling dream",
            "on the summer breeze",
            "like a shooting star",
            "in the glitter rain",
        ],
        "pop_hook": [
            "We light it up, we light it up tonight",
            "Dance with me under the neon sky",
            "You're my forever, my sparkle, my shine",
            "Hearts go boom when the music's loud",
            "Fly away with me on a summer night",
            "Baby, we're golden, baby, we're bright",
            "Turn it up and let the good times roll",
            "Shine like glitter on the dance floor",
            "I'm falling, falling, falling for you",
            "Stay with me till the morning light",
            "Sugar rush and a kiss goodnight",
            "Every heartbeat sounds like your name",
        ],
        "pop_hook_lc": [
            "we light it up tonight",
            "dance with me tonight",
            "you're my sparkle and shine",
            "hearts go boom tonight",
            "baby, we're golden",
            "I'm falling for you",
        ],
        "pop_tag": ["oh-oh", "yeah", "tonight", "hey", "na-na-na", "woah"],
    },
    "adlibs": ["(Oh)", "(Hey)", "(Oh-oh-oh)", "(Yeah)", "(Tonight)"],
}

# --------------------------------------------------------------------------------------------
# rock
# --------------------------------------------------------------------------------------------
ROCK = {
    "verse": [
        "{rock_a}",
        "{rock_a_h1} {rock_a_h2}",
        "{rock_a_h1} {rock_a_h2}",
        "{rock_a_h1}, {rock_b}",
        "{rock_c} {rock_d}",
        "{rock_c} {rock_d}, {rock_b}",
    ],
    "hook": [
        "{rock_hook}",
        "{rock_hook}",
        "{rock_hook}, {rock_b}",
    ],
    "slots": {
        "rock_a": [
            "Thunder rolling down the empty highway",
            "I set the amplifier on fire",
            "Broken glass and gasoline",
            "Steel wheels screaming through the night",
            "We were born to break the chains",
            "Ashes falling like a winter storm",
            "The engine roars beneath my bones",
            "Black leather and a loaded sky",
            "Wolves are howling at the edge of town",
            "I rode the lightning to the end",
            "Rusted iron and a burning road",
            "The rebel yell inside my chest",
            "Feedback ringing in my ears",
            "Smoke and mirrors in the hall of kings",
            "I tore the anthem from the wire",
            "Cold as iron, hard as stone",
            "Drums like cannons in the dark",
            "We tore the city walls apart",
            "A wild horse running through the flames",
            "The highway swallowed every sign",
            "I carved my name into the stone",
            "Bleeding out on a six-string cross",
            'They told us "kneel" but we stood against the wind',
        ],
        "rock_b": [
            "we'll never bow",
            "and the sky is burning",
            "nothing left to lose",
            "till the walls come down",
            "I won't look back",
            "we ride the storm",
            "feel the fire",
            "louder than the thunder",
        ],
        "rock_c": [
            "Under the",
            "Through the",
            "Against the",
            "Beyond the",
            "Into the",
            "Over the",
        ],
        "rock_d": [
            "iron moon",
            "burning skyline",
            "howling wind",
            "shattered walls",
            "endless highway",
            "blackened steel",
            "raging river",
            "roaring engine",
            "crimson thunder",
        ],
        "rock_hook": [
            "Burn it down, burn it down tonight",
            "We are the thunder, we are the storm",
            "Ride the highway to the edge of the world",
            "Never surrender, never bow down",
            "Set the night on fire",
            "Break the chains and let it roar",
            "Louder than the engines, louder than the guns",
            "We're the rebels of the iron sky",
            "Rise from the ashes, rise again",
            "Steel and fire in my veins",
        ],
    },
    "adlibs": ["(Hey!)", "(Yeah!)", "(Go!)", "(Whoa)"],
}

# --------------------------------------------------------------------------------------------
# rb
# --------------------------------------------------------------------------------------------
RB = {
    "verse": [
        "{rb_a}",
        "{rb_a_h1} {rb_a_h2}",
        "{rb_a_h1} {rb_a_h2}",
        "{rb_a_h1}, {rb_b}",
        "{rb_a} {rb_adlib}",
        "{rb_c} {rb_d}",
        "{rb_c} {rb_d}, {rb_b}",
    ],
    "hook": [
        "{rb_hook}",
        "{rb_hook} {rb_adlib}",
        "{rb_hook}, {rb_b}",
    ],
    "slots": {
        "rb_a": [
            "Candlelight is dancing on your skin",
            "Slow it down and let me hold you close",
            "Silk sheets and a velvet melody",
            "Your whisper is the sweetest thing I know",
            "Late night, honey, you're all I need",
            "Touch me like the first time that we met",
            "Satin pillows and a tender kiss",
            "I can feel your body calling mine",
            "Rose petals leading to the door",
            "Every breath you take is poetry",
            "Lay with me until the sun comes up",
            "Your love is warmer than the summer rain",
            "Soft and slow, that's how we ride",
            "Champagne glasses on the nightstand",
            "Tell me all your secrets in the dark",
            "Baby, you're the rhythm of my soul",
            "I'll be yours until the stars go cold",
            "Sweet perfume still lingers on my coat",
            "Hold me gently, darling, don't let go",
            "Moonlight pouring through the window pane",
            'You said "forever" with your hand in mine',
        ],
        "rb_b": [
            "baby, don't you go",
            "ooh, I need you now",
            "love me down",
            "all night long",
            "you're my everything",
            "closer, closer",
            "so tender, so true",
            "girl, you know",
        ],
        "rb_c": ["Baby,", "Darling,", "Honey,", "Sugar,", "Oh love,"],
        "rb_d": [
            "come a little closer",
            "let me love you slow",
            "you got me feeling some type of way",
            "I've been waiting all night for you",
            "we can take our time tonight",
            "your touch is all I'm craving",
            "I'm melting in your arms",
        ],
        "rb_hook": [
            "Ooh, baby, love me down slow",
            "All night, all night, I'll be holding you tight",
            "You're my honey, my sugar, my silk",
            "Closer, closer, don't let go",
            "Tender love in the candlelight",
            "Say you'll stay till the morning comes",
            "Your body next to mine, so fine",
            "Baby, I'm yours, all yours tonight",
        ],
    },
    "adlibs": ["(Ooh)", "(Oh, baby)", "(Mmm)", "(Yeah, yeah)", "(Ooh-ooh)", "(Hey)"],
}

# --------------------------------------------------------------------------------------------
# country
# --------------------------------------------------------------------------------------------
COUNTRY = {
    "verse": [
        "{cty_a}",
        "{cty_a_h1} {cty_a_h2}",
        "{cty_a_h1} {cty_a_h2}",
        "{cty_a_h1}, {cty_b}",
        "{cty_c} {cty_d}",
        "{cty_c} {cty_d}, {cty_b}",
    ],
    "hook": [
        "{cty_hook}",
        "{cty_hook}",
        "{cty_hook}, {cty_b}",
    ],
    "slots": {
        "cty_a": [
            "Dust on the tailgate of my daddy's old truck",
            "Sunday morning church bells ringing down the hill",
            "Sweet tea on the porch swing in the summer heat",
            "Mama's kitchen smelling like a peach cobbler pie",
            "Rolling down a dirt road with the windows down",
            "Fireflies dancing over fields of Tennessee corn",
            "Boots by the back door, mud from the creek",
            "A fiddle playing slow at the county fair",
            "Old red barn leaning in the Georgia pines",
            "Grandpa's pocket knife and a fishing line",
            "Whiskey in a mason jar and a guitar by the fire",
            "Hometown water tower with our names in paint",
            "Cotton fields and a gravel driveway",
            "We were kids out chasing tractors by the river bend",
            "Stars above the pasture and a blanket in the bed",
            "Pickup radio playing that old Saturday song",
            "Wildflowers growing by the railroad track",
            "Catfish biting in the muddy Mississippi",
            "A cowboy hat hanging on the bedroom door",
            "Front porch light still burning for me",
            "Small-town diner with the coffee always on",
            "Harvest moon rising over Alabama hay",
            'Daddy said "son, the land don\'t lie to you"',
        ],
        "cty_b": [
            "Lord, I miss those days",
            "that's where I belong",
            "down in Dixie land",
            "in that little town",
            "y'all know what I mean",
            "ain't nothing like home",
            "by the river side",
            "till the cows come home",
        ],
        "cty_c": ["Down by the", "Out on the", "Back in the", "Up on the", "Along the"],
        "cty_d": [
            "old creek bed",
            "county line",
            "gravel road",
            "hayfield gate",
            "front porch swing",
            "Baptist church",
            "tailgate down",
            "cotton rows",
        ],
        "cty_hook": [
            "Take me back to that old dirt road",
            "Small town, big heart, that's where I'm from",
            "Tailgate down and the radio on",
            "Sweet Carolina, carry me home",
            "Whiskey and a pickup truck tonight",
            "Sunday dress and a Saturday night",
            "Country roads and the Georgia moon",
            "Raise a glass to the hometown crowd",
        ],
    },
    "adlibs": ["(Yeehaw)", "(Come on)", "(Lord)"],
}

# --------------------------------------------------------------------------------------------
# misc: poems, scripture-like chapters, TV scripts, essays (non-songs filed under `misc`)
# --------------------------------------------------------------------------------------------
MISC = {
    "verse": [
        "{misc_a} {misc_b}.",
        "{misc_a} {misc_b}, {misc_c}.",
        "And {misc_subj} {misc_verb} {misc_obj} {misc_prep} {misc_obj}.",
        "{misc_subj_cap} {misc_verb} {misc_obj}, {misc_c}.",
    ],
    "hook": [
        "{misc_poem}",
        "{misc_poem}",
        "{misc_poem}, {misc_c}",
    ],
    "slots": {
        "misc_a": [
            "In the beginning of the season",
            "Upon the ancient parchment of the library",
            "Therefore the council of elders",
            "Within the quiet chapters of the archive",
            "At the hour of the evening lamp",
            "According to the records of the province",
            "Among the scholars of the eastern hall",
            "Throughout the long winter of the valley",
            "Beneath the cathedral of the old republic",
            "As the chronicle of the merchants tells",
        ],
        "misc_b": [
            "the people gathered to hear the decree",
            "the harvest was counted and written down",
            "a stranger arrived carrying a sealed letter",
            "the river rose above the northern fields",
            "the philosopher questioned the nature of memory",
            "the narrator recalls a childhood in the orchard",
            "the governor declared a day of rest",
            "the students debated the meaning of the text",
            "the lamp burned until the pages turned gray",
            "the shepherds numbered their flocks by the well",
        ],
        "misc_c": [
            "as it was written",
            "and the matter was recorded",
            "according to custom",
            "which the reader should consider",
            "and so the chapter closes",
            "for it was the appointed time",
        ],
        "misc_subj": ["the elders", "the scribe", "the traveler", "the assembly", "the reader"],
        "misc_subj_cap": [
            "The scribe",
            "The assembly",
            "The narrator",
            "The author",
            "The witness",
        ],
        "misc_verb": ["examined", "proclaimed", "recorded", "weighed", "interpreted", "described"],
        "misc_obj": [
            "the testimony",
            "the manuscript",
            "the boundary stones",
            "the census",
            "the parable",
            "the treaty",
            "the lantern",
            "the orchard",
        ],
        "misc_prep": ["before", "beside", "beyond", "beneath", "concerning"],
        "misc_poem": [
            "O pale lantern of the autumn field",
            "The willow bends where silent waters yield",
            "I wandered through the orchard of the years",
            "A sparrow writes its sonnet on the frost",
            "The evening folds its shawl across the hills",
            "What the marble keeps, the meadow soon forgets",
            "Across the moor the quiet bells of dusk",
            "Let the ink remember what the tongue has lost",
        ],
    },
    "adlibs": [],
}

BANKS = {"rap": RAP, "pop": POP, "rock": ROCK, "rb": RB, "country": COUNTRY, "misc": MISC}

# TV-script scenes for misc rows: speaker names and stage directions.
SCRIPT_SPEAKERS = [
    "MARGARET",
    "DETECTIVE HALE",
    "OLIVER",
    "DR. PATEL",
    "NARRATOR",
    "JUNE",
    "MR. BRISCOE",
]
SCRIPT_DIRECTIONS = [
    "[Scene: a cramped kitchen, early morning]",
    "[Scene: the precinct office, rain on the windows]",
    "[Scene: a hospital corridor]",
    "[Scene: the front steps of the courthouse]",
    "[Cut to: the parking garage]",
]
SCRIPT_LINES = [
    "I told you the files were missing before the meeting.",
    "You can't just walk in here and rearrange the evidence.",
    "Where were you on the night of the fourteenth?",
    "The coffee machine is broken again, and nobody cares.",
    "We have twenty minutes before the board arrives.",
    "Did anyone check the security tapes from the lobby?",
    "I'm not leaving until somebody explains this invoice.",
    "Sit down. We need to talk about the inheritance.",
    "That's the third time this week the elevator stopped.",
    "Forget the report. Tell me what you actually saw.",
]
ESSAY_SENTENCES = [
    "The history of the printing press shows how ideas travel faster than institutions adapt.",
    "Economists have long debated whether the harvest tax encouraged or discouraged planting.",
    "In the second chapter the author turns from the city to the surrounding farmland.",
    "Critics note that the narrator's unreliability is deliberate rather than careless.",
    "The migration of the northern tribes followed the seasonal movement of the herds.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The treaty was signed in haste, and its ambiguities caused disputes for decades.",
    "Students should compare the two speeches and identify their rhetorical devices.",
    "Archaeologists uncovered pottery that suggests a trading route along the coast.",
    "The committee's report recommends a gradual rather than an immediate reform.",
]

# --------------------------------------------------------------------------------------------
# Section headers and credits
# --------------------------------------------------------------------------------------------
# {n} is the section number; {a}, {b} are performer names.
CHORUS_HEADERS = ["[Chorus]", "[Chorus]", "[Chorus]", "[Chorus: {a}]", "[Chorus: {a} & {b}]"]
HOOK_HEADERS = ["[Hook]", "[Hook]", "[Hook: {a}]", "[Hook] 2x"]
INTRO_HEADERS = ["[Intro]", "[Intro]", "[Intro: {a}]", "[Intro: {a}, {b} & Both]"]
OUTRO_HEADERS = ["[Outro]", "[Outro]", "[Outro: {a}]"]
PRODUCER_CREDITS = ["[Produced by {p}]", "[Produced by {p} & {q}]", "[Prod. by {p}]"]
ROCK_BREAKS = ["[Guitar Solo]", "[Instrumental Break]", "[Drum Break]"]
PRODUCER_NAMES = [
    "Metro Lanes",
    "DJ Kettle",
    "Northside Mike",
    "Tape Deck Tony",
    "Lowend Lou",
    "Beatsmith J",
    "Static Bloom",
    "Kid Cassette",
    "Boom Bap Barry",
    "Velvet Knobs",
]

# --------------------------------------------------------------------------------------------
# Artist names (invented)
# --------------------------------------------------------------------------------------------
NAME_FIRST = [
    "Jay",
    "Marcus",
    "Tasha",
    "Rico",
    "Keisha",
    "Darnell",
    "Luna",
    "Skye",
    "Cole",
    "Maya",
    "Jesse",
    "Ruby",
    "Dale",
    "Wade",
    "Emmy",
    "Tucker",
    "Nova",
    "Ivy",
    "Theo",
    "Zara",
    "Andre",
    "Bianca",
    "Corey",
    "Delia",
    "Elias",
    "Fiona",
    "Gus",
    "Hazel",
    "Isaiah",
    "Jolene",
]
NAME_LAST = [
    "Carter",
    "Rivers",
    "Stone",
    "Banks",
    "Holloway",
    "Monroe",
    "Sinclair",
    "Fairbanks",
    "Whitaker",
    "Delgado",
    "Okafor",
    "Lindqvist",
    "Harlow",
    "Beaumont",
    "Prescott",
    "Vance",
    "Mercer",
    "Thornton",
    "Calloway",
    "Ashby",
]
# Names with letters that the Genius scraper stripped (é -> ""), as in "Genius Brasil Tradues".
NAME_ACCENTED = [
    "André",
    "Zoë",
    "Renée",
    "Joaquín",
    "Inés",
    "Björn",
    "Chloé",
    "Raúl",
    "Mónica",
    "Søren",
]
RAP_PREFIX = ["Lil", "Young", "MC", "Big", "Lil'", "King", "Yung", "DJ"]
RAP_CORE = [
    "Brick",
    "Stackz",
    "Nickel",
    "Crates",
    "Deuce",
    "Hustle",
    "Cipher",
    "Corner",
    "Ledger",
    "Boulevard",
    "Blocka",
    "Switch",
    "Trapline",
    "Pavement",
    "Q",
    "Dime",
    "Cam'ro",
    "Mic",
]
BAND_ADJ = ["Iron", "Broken", "Black", "Burning", "Silent", "Electric", "Rusted", "Wild", "Hollow"]
BAND_NOUN = ["Wolves", "Engines", "Ravens", "Highways", "Saints", "Anchors", "Thieves", "Lanterns"]
POP_STAGE = ["Glitter", "Starla", "Neon", "Candy", "Pixie", "Halo", "Sunny", "Jewel", "Aurora"]
COUNTRY_SUFFIX = ["Band", "Brothers", "& the Hayriders", "& the Gravel Road", "Trio"]
MISC_AUTHORS = [
    "The Chronicle Society",
    "Anonymous",
    "The Elder Scribes",
    "Westbrook Reading Group",
    "The Lantern Anthology",
    "Hollis P. Wren",
    "Margery Ashcombe",
]

# --------------------------------------------------------------------------------------------
# Decorations for English songs: accents, emoji, curly quotes, one foreign line
# --------------------------------------------------------------------------------------------
ACCENT_WORDS = [
    "café",
    "déjà vu",
    "naïve",
    "jalapeño",
    "piñata",
    "fiancée",
    "crème brûlée",
    "résumé",
]
ACCENT_LINES = [
    "Meet me at the little café on the corner",
    "Feels like déjà vu every time you call",
    "I was naïve to think that we'd be fine",
    "Hot like a jalapeño in the summer sun",
    "My fiancée is dancing by the door",
    "Sweet like crème brûlée on a Sunday",
]
EMOJI = ["🔥", "❤️", "💯", "✨", "😈", "🎶", "💔", "🙏", "😂", "💸"]
# One foreign line inside an English song (written for this project).
FOREIGN_LINES = {
    "es": [
        "y bailamos hasta que salga el sol",
        "no me olvides, corazón",
        "la noche es nuestra, mi amor",
    ],
    "fr": [
        "on danse encore sous la pluie",
        "reste avec moi jusqu'au matin",
        "mon cœur bat pour toi",
    ],
    "it": ["resta qui con me stanotte", "il cuore non mente mai"],
    "pt": ["vem comigo até o amanhecer", "saudade de você, meu bem"],
    "de": ["wir tanzen bis der Morgen kommt", "du bist mein ganzes Herz"],
    "ja": ["ずっと一緒にいようね", "夜空に君の名前を"],
    "ko": ["사랑해 오늘 밤도", "너만 보여"],
}

# --------------------------------------------------------------------------------------------
# Junk: placeholder texts repeated verbatim across many rows, and one study-guide text
# --------------------------------------------------------------------------------------------
PLACEHOLDERS = [
    "Lyrics for this song have yet to be released. Please check back once the song has been released.",
    "Lyrics will be available soon. If you know the words, submit them so everyone can read them.",
    "We do not have the lyrics for this track yet. Request them and we will notify you when they are added.",
    "Loading...",
    "Save Cancel",
    "[Instrumental]",
    "Unreleased snippet. Full lyrics are not available yet.",
    "This song is an instrumental",
]
# Texts that are only an instrumental marker (a placeholder kind of their own).
INSTRUMENTAL_TEXTS = ["[Instrumental]", "[Instrumental]", "[Instrumental]\n\n[Instrumental Outro]"]

STUDY_GUIDE = (
    "Study Guide: Reading Comprehension and Literary Devices\n\n"
    "[Overview]\n"
    "This guide accompanies the assigned chapters. Read each section carefully before answering "
    "the questions at the end. Pay attention to how the author uses setting, symbolism and point "
    "of view to develop the central theme.\n\n"
    "[Key Terms]\n"
    "Metaphor: a comparison that does not use like or as.\n"
    "Foreshadowing: a hint of what will happen later in the story.\n"
    "Irony: a contrast between what is expected and what actually happens.\n"
    "Narrator: the voice that tells the story to the reader.\n\n"
    "[Questions]\n"
    "1. Describe the setting of the opening chapter and explain why it matters.\n"
    "2. Identify two examples of foreshadowing and explain what they suggest.\n"
    "3. How does the narrator's attitude toward the town change over time?\n"
    "4. Find a metaphor in chapter three and explain its meaning in your own words.\n"
    "5. Write a paragraph comparing the two main characters' motivations.\n\n"
    "[Discussion]\n"
    "Work with a partner to summarize each chapter in three sentences. Then decide which event is "
    "the turning point of the story and defend your choice with evidence from the text."
)

# --------------------------------------------------------------------------------------------
# Non-English songs: section headers per language; words come from wordfreq at run time.
# --------------------------------------------------------------------------------------------
# (verse header with {n}, chorus header, bridge header)
FOREIGN_HEADERS = {
    "es": ("[Verso {n}]", "[Coro]", "[Puente]"),
    "fr": ("[Couplet {n}]", "[Refrain]", "[Pont]"),
    "pt": ("[Verso {n}]", "[Refrão]", "[Ponte]"),
    "de": ("[Strophe {n}]", "[Refrain]", "[Bridge]"),
    "it": ("[Strofa {n}]", "[Ritornello]", "[Ponte]"),
    "ru": ("[Куплет {n}]", "[Припев]", "[Бридж]"),
    "pl": ("[Zwrotka {n}]", "[Refren]", "[Most]"),
    "tr": ("[Verse {n}]", "[Nakarat]", "[Köprü]"),
    "nl": ("[Couplet {n}]", "[Refrein]", "[Brug]"),
    "sv": ("[Vers {n}]", "[Refräng]", "[Stick]"),
    "ja": ("[Verse {n}]", "[Chorus]", "[Bridge]"),
    "ko": ("[Verse {n}]", "[Chorus]", "[Bridge]"),
    "zh": ("[Verse {n}]", "[Chorus]", "[Bridge]"),
}
# Shares of the non-English songs (roughly the song_lyrics.csv language mix, renormalised).
FOREIGN_LANG_SHARES = {
    "es": 0.20,
    "fr": 0.14,
    "pt": 0.12,
    "ru": 0.12,
    "de": 0.11,
    "it": 0.08,
    "pl": 0.06,
    "tr": 0.04,
    "nl": 0.03,
    "sv": 0.02,
    "ja": 0.03,
    "ko": 0.03,
    "zh": 0.02,
}
# Languages written without spaces between words.
NO_SPACE_LANGS = frozenset({"ja", "zh"})
# Romanization pages: syllables for Japanese-like and Korean-like romanized lyrics.
ROMAJI_SYLLABLES = [
    "ka",
    "ki",
    "ku",
    "ke",
    "ko",
    "sa",
    "shi",
    "su",
    "se",
    "so",
    "ta",
    "chi",
    "tsu",
    "te",
    "to",
    "na",
    "ni",
    "nu",
    "ne",
    "no",
    "ha",
    "hi",
    "fu",
    "he",
    "ho",
    "ma",
    "mi",
    "mu",
    "me",
    "mo",
    "ya",
    "yu",
    "yo",
    "ra",
    "ri",
    "ru",
    "re",
    "ro",
    "wa",
    "n",
    "ga",
    "gi",
    "go",
    "da",
    "de",
    "zu",
    "ba",
    "bo",
]
HANGUL_ROMAN_SYLLABLES = [
    "na",
    "neo",
    "ga",
    "geu",
    "dae",
    "ha",
    "ji",
    "mal",
    "eum",
    "bam",
    "sa",
    "rang",
    "nae",
    "ma",
    "eum",
    "ol",
    "yeo",
    "seo",
    "mi",
    "an",
    "hae",
    "bo",
    "go",
    "sip",
    "da",
    "neul",
    "ui",
    "jeo",
    "gi",
    "ttae",
    "ro",
]
