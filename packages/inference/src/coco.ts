/**
 * The 80 COCO object classes in the order detectors trained on COCO number them (Ultralytics, the
 * TF Object Detection API after removing the ten unused ids, NanoDet), each with the Wikidata item
 * it means, so a detected "person" is http://www.wikidata.org/entity/Q5 in the annotation.
 *
 * Written here by hand, one item per class, for the thing the COCO annotators drew boxes around
 * (e.g. "tie" is the necktie, "mouse" the computer mouse, "remote" the remote control). Three classes
 * are left without an item rather than guessed, because no item could be confirmed offline: tennis
 * racket, tv and hair drier. They are still labelled by name.
 */
const TABLE: readonly (readonly [string, string | null])[] = [
  ["person", "Q5"],
  ["bicycle", "Q11442"],
  ["car", "Q1420"],
  ["motorcycle", "Q34493"],
  ["airplane", "Q197"],
  ["bus", "Q5638"],
  ["train", "Q870"],
  ["truck", "Q43193"],
  ["boat", "Q35872"],
  ["traffic light", "Q8004"],
  ["fire hydrant", "Q634299"],
  ["stop sign", "Q250429"],
  ["parking meter", "Q953960"],
  ["bench", "Q204776"],
  ["bird", "Q5113"],
  ["cat", "Q146"],
  ["dog", "Q144"],
  ["horse", "Q726"],
  ["sheep", "Q7368"],
  ["cow", "Q830"],
  ["elephant", "Q7378"],
  ["bear", "Q30090244"],
  ["zebra", "Q32789"],
  ["giraffe", "Q15083"],
  ["backpack", "Q5843"],
  ["umbrella", "Q41607"],
  ["handbag", "Q467505"],
  ["tie", "Q44416"],
  ["suitcase", "Q200814"],
  ["frisbee", "Q131689"],
  ["skis", "Q172226"],
  ["snowboard", "Q2000617"],
  ["sports ball", "Q18545"],
  ["kite", "Q42861"],
  ["baseball bat", "Q809910"],
  ["baseball glove", "Q809894"],
  ["skateboard", "Q15783"],
  ["surfboard", "Q457689"],
  ["tennis racket", null],
  ["bottle", "Q80228"],
  ["wine glass", "Q1531435"],
  ["cup", "Q81727"],
  ["fork", "Q81881"],
  ["knife", "Q32489"],
  ["spoon", "Q81895"],
  ["bowl", "Q153988"],
  ["banana", "Q503"],
  ["apple", "Q89"],
  ["sandwich", "Q28803"],
  ["orange", "Q13191"],
  ["broccoli", "Q47722"],
  ["carrot", "Q81"],
  ["hot dog", "Q181055"],
  ["pizza", "Q177"],
  ["donut", "Q192783"],
  ["cake", "Q13276"],
  ["chair", "Q15026"],
  ["couch", "Q131514"],
  ["potted plant", "Q27993793"],
  ["bed", "Q42177"],
  ["dining table", "Q115665141"],
  ["toilet", "Q7857"],
  ["tv", null],
  ["laptop", "Q3962"],
  ["mouse", "Q7987"],
  ["remote", "Q185091"],
  ["keyboard", "Q1921606"],
  ["cell phone", "Q17517"],
  ["microwave", "Q127956"],
  ["oven", "Q36539"],
  ["toaster", "Q14890"],
  ["sink", "Q140565"],
  ["refrigerator", "Q37828"],
  ["book", "Q571"],
  ["clock", "Q376"],
  ["vase", "Q191851"],
  ["scissors", "Q40847"],
  ["teddy bear", "Q213477"],
  ["hair drier", null],
  ["toothbrush", "Q134205"],
];

export interface CocoClass {
  readonly index: number;
  readonly name: string;
  /** Wikidata entity URI, or undefined where none was confirmed. */
  readonly uri?: string;
}

export const COCO_CLASSES: readonly CocoClass[] = Object.freeze(
  TABLE.map(([name, q], index) => Object.freeze({ index, name, ...(q ? { uri: `http://www.wikidata.org/entity/${q}` } : {}) })),
);

/** Class names by index. */
export const COCO_LABELS: readonly string[] = Object.freeze(COCO_CLASSES.map((c) => c.name));
